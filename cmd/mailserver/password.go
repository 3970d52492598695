package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// maxPasswordLine bounds what is read from standard input for a password.
const maxPasswordLine = 4096

// readPassword returns a new password for address: the first line of in (trailing newline removed) when in is not
// a terminal, or typed twice without echo at prompts written to prompt when it is.
func readPassword(in io.Reader, prompt io.Writer, address string) (string, error) {
	if f, ok := in.(*os.File); ok && isTerminal(f) {
		return promptPassword(int(f.Fd()), prompt, address)
	}
	return firstLine(in)
}

func firstLine(in io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(in, maxPasswordLine+1)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	if len(line) > maxPasswordLine {
		return "", fmt.Errorf("the password on standard input is longer than %d bytes", maxPasswordLine)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if pw == "" {
		return "", errors.New("password must not be empty (it is read from the first line of standard input)")
	}
	return pw, nil
}

// isTerminal tells whether f is a terminal, where passwords are asked for.
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// askPassword asks for a password once, without echo.
func askPassword(fd int, prompt io.Writer, label string) (string, error) {
	fmt.Fprint(prompt, label)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(prompt)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return string(b), nil
}

func promptPassword(fd int, prompt io.Writer, address string) (string, error) {
	ask := func(label string) (string, error) { return askPassword(fd, prompt, label) }
	pw, err := ask(fmt.Sprintf("New password for %s: ", address))
	if err != nil {
		return "", err
	}
	if pw == "" {
		return "", errors.New("password must not be empty")
	}
	again, err := ask("Repeat the password: ")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", errors.New("the two passwords do not match: nothing was changed")
	}
	return pw, nil
}
