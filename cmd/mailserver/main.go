// Command mailserver is the official mail server and its administration CLI. Run "mailserver --help".
package main

import "os"

func main() {
	cmd, err := newRootCmd().ExecuteC()
	os.Exit(report(cmd, err, os.Stderr))
}
