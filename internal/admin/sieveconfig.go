package admin

import (
	"mailserver/internal/config"
	"mailserver/internal/forwarding"
	"mailserver/internal/store"
)

// SieveSettingsFor returns the settings of the configuration's [sieve] table, so that every process that stores
// scripts (the server, and the CLI when the server is stopped) holds them to the same limits and policy.
func SieveSettingsFor(c config.SieveConfig) SieveSettings {
	return SieveSettings{
		Limits:  store.SieveLimits{MaxScripts: c.MaxScripts, MaxScriptBytes: int(c.MaxScriptSize)},
		Forward: forwarding.Policy{Domains: c.ForwardDomains, Units: c.ForwardUnits},
	}
}
