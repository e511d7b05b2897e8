package slackops

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Command is a parsed /opsos-user command: a verb, key=value arguments
// and plain words (an email, a user mention).
type Command struct {
	Verb string
	// Args are the key=value arguments, keys lower-case.
	Args map[string]string
	// Words are the arguments without a key, in order.
	Words []string
}

// Verbs returns the verbs /opsos-user knows.
func Verbs() []string {
	return []string{"create", "edit", "release", "hold", "resend", "status", "show", "list", "history", "roles", "help"}
}

func knownVerb(v string) bool {
	for _, k := range Verbs() {
		if k == v {
			return true
		}
	}
	return false
}

// UsageError is a command Slack users typed wrong; its message is meant
// for them.
type UsageError struct{ Message string }

func (e *UsageError) Error() string { return e.Message }

// Parse reads the text Slack sends after /opsos-user. It understands
// quotes, straight or curly as Slack clients insert them, email links
// (<mailto:a@b.com|a@b.com>) and user mentions (<@U123|name>, kept as
// the id U123).
func Parse(text string) (Command, error) {
	words, err := split(text)
	if err != nil {
		return Command{}, err
	}
	if len(words) == 0 {
		return Command{Verb: "help", Args: map[string]string{}}, nil
	}
	cmd := Command{Verb: strings.ToLower(words[0]), Args: map[string]string{}}
	if !knownVerb(cmd.Verb) {
		return Command{}, &UsageError{Message: fmt.Sprintf("I don't know %q. Try `/opsos-user help`.", words[0])}
	}
	for _, w := range words[1:] {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" || strings.ContainsFunc(k, func(r rune) bool { return !isKeyRune(r) }) {
			cmd.Words = append(cmd.Words, unwrap(w))
			continue
		}
		k = strings.ToLower(k)
		if _, dup := cmd.Args[k]; dup {
			return Command{}, &UsageError{Message: fmt.Sprintf("%s is given twice.", k)}
		}
		cmd.Args[k] = unwrap(v)
	}
	return cmd, nil
}

func isKeyRune(r rune) bool {
	return r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == '.')
}

// closingQuote returns the quote that closes r, or 0 if r opens none.
// Slack clients turn straight quotes into curly ones.
func closingQuote(r rune) rune {
	switch r {
	case '"', '\'':
		return r
	case '“', '”':
		return '”'
	case '‘', '’':
		return '’'
	}
	return 0
}

// split breaks text into words; a quoted part keeps its spaces and loses
// its quotes, so first="Mary Ann" is one word.
func split(text string) ([]string, error) {
	var (
		words   []string
		cur     strings.Builder
		in      bool
		open    rune
		close   rune
		started bool
		prev    rune
	)
	for i, r := range text {
		last := prev
		prev = r
		// The bytes as typed, not r: ranging turns an invalid byte into
		// U+FFFD, and the rules must see (and refuse) what was sent.
		_, size := utf8.DecodeRuneInString(text[i:])
		raw := text[i : i+size]
		switch {
		case in && r == close:
			in = false
		case in:
			cur.WriteString(raw)
		case closingQuote(r) != 0 && (!started || last == '='):
			// A quote opens a value at the start of a word or after
			// '='; inside a word it is an apostrophe (O’Neil).
			in, open, close, started = true, r, closingQuote(r), true
		case unicode.IsSpace(r):
			if started {
				words = append(words, cur.String())
				cur.Reset()
				started = false
			}
		default:
			cur.WriteString(raw)
			started = true
		}
	}
	if in {
		return nil, &UsageError{Message: fmt.Sprintf("A quote (%c) is not closed.", open)}
	}
	if started {
		words = append(words, cur.String())
	}
	return words, nil
}

// unwrap turns Slack's markup for an email link or a user mention into
// the address or the user id.
func unwrap(w string) string {
	if !strings.HasPrefix(w, "<") || !strings.HasSuffix(w, ">") {
		return w
	}
	inner := w[1 : len(w)-1]
	target, label, _ := strings.Cut(inner, "|")
	switch {
	case strings.HasPrefix(target, "mailto:"):
		return strings.TrimPrefix(target, "mailto:")
	case strings.HasPrefix(target, "@"):
		return strings.TrimPrefix(target, "@")
	case label != "":
		return label
	}
	return target
}
