package invite

import (
	"fmt"
	"strings"
)

// The invitation templates use a small part of Go's template syntax:
// {{.Field}}, {{if .Field}} … {{else}} … {{end}}, {{/* comments */}} and
// the {{- -}} whitespace trimming. This renders exactly that, without
// text/template: its reflection makes the linker keep every exported
// method of every type in the binary, which more than doubled the size of
// the release function (and its cold start). Values are escaped by the
// caller's function (HTML escaping for the HTML part).

type nodeKind int

const (
	textNode nodeKind = iota
	fieldNode
	ifNode
)

type node struct {
	kind        nodeKind
	text        string // textNode: the text; fieldNode, ifNode: the field
	then, else_ []node
}

type tmpl struct {
	name  string
	nodes []node
}

// parseTemplate reads src. Unknown actions are errors, so a template
// edited beyond what is supported fails at start, not in an email.
func parseTemplate(name, src string) (*tmpl, error) {
	p := &parser{name: name}
	trimNext := false
	for len(src) > 0 {
		i := strings.Index(src, "{{")
		text := src
		if i >= 0 {
			text = src[:i]
		}
		if trimNext {
			text = strings.TrimLeft(text, " \t\r\n")
		}
		if i < 0 {
			p.add(node{kind: textNode, text: text})
			break
		}
		j := strings.Index(src[i:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("%s: unclosed action", name)
		}
		action := src[i+2 : i+j]
		src = src[i+j+2:]
		if strings.HasPrefix(action, "- ") {
			text = strings.TrimRight(text, " \t\r\n")
			action = action[2:]
		}
		trimNext = strings.HasSuffix(action, " -")
		if trimNext {
			action = action[:len(action)-2]
		}
		if text != "" {
			p.add(node{kind: textNode, text: text})
		}
		if err := p.action(strings.TrimSpace(action)); err != nil {
			return nil, err
		}
	}
	if len(p.stack) > 0 {
		return nil, fmt.Errorf("%s: if without end", name)
	}
	return &tmpl{name: name, nodes: p.root}, nil
}

// parser builds a template's tree: nodes go into the innermost open if
// (its then or else branch), or at the root.
type parser struct {
	name  string
	root  []node
	stack []openIf
}

type openIf struct {
	n      *node
	inElse bool
}

func (p *parser) add(n node) {
	if len(p.stack) == 0 {
		p.root = append(p.root, n)
		return
	}
	f := p.stack[len(p.stack)-1]
	if f.inElse {
		f.n.else_ = append(f.n.else_, n)
	} else {
		f.n.then = append(f.n.then, n)
	}
}

// action takes one {{…}}: a comment, if, else, end or a field.
func (p *parser) action(action string) error {
	switch {
	case strings.HasPrefix(action, "/*") && strings.HasSuffix(action, "*/"):
	case strings.HasPrefix(action, "if ."):
		p.stack = append(p.stack, openIf{n: &node{kind: ifNode, text: strings.TrimPrefix(action, "if .")}})
	case action == "else":
		if len(p.stack) == 0 || p.stack[len(p.stack)-1].inElse {
			return fmt.Errorf("%s: else without if", p.name)
		}
		p.stack[len(p.stack)-1].inElse = true
	case action == "end":
		if len(p.stack) == 0 {
			return fmt.Errorf("%s: end without if", p.name)
		}
		n := p.stack[len(p.stack)-1].n
		p.stack = p.stack[:len(p.stack)-1]
		p.add(*n)
	case strings.HasPrefix(action, ".") && !strings.ContainsAny(action, " |()"):
		p.add(node{kind: fieldNode, text: action[1:]})
	default:
		return fmt.Errorf("%s: unsupported action {{%s}}", p.name, action)
	}
	return nil
}

// check makes sure every field the template uses exists in fields.
func (t *tmpl) check(fields map[string]string) error {
	var walk func([]node) error
	walk = func(ns []node) error {
		for _, n := range ns {
			if n.kind == textNode {
				continue
			}
			if _, ok := fields[n.text]; !ok {
				return fmt.Errorf("%s: unknown field .%s", t.name, n.text)
			}
			if err := walk(n.then); err != nil {
				return err
			}
			if err := walk(n.else_); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(t.nodes)
}

// render writes the template with fields; an empty field is false.
func (t *tmpl) render(fields map[string]string, escape func(string) string) string {
	var b strings.Builder
	var walk func([]node)
	walk = func(ns []node) {
		for _, n := range ns {
			switch n.kind {
			case textNode:
				b.WriteString(n.text)
			case fieldNode:
				b.WriteString(escape(fields[n.text]))
			case ifNode:
				if fields[n.text] != "" {
					walk(n.then)
				} else {
					walk(n.else_)
				}
			}
		}
	}
	walk(t.nodes)
	return b.String()
}
