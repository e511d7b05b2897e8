package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// benchLine is one result line of `go test -bench`: the sub-benchmark's
// name and its metrics by unit.
type benchLine struct {
	name    string
	metrics map[string]float64
}

var benchName = regexp.MustCompile(`^Benchmark(\S+?)(-\d+)?$`)

// goBench runs go test -bench in the module and returns its result lines.
func goBench(pkg, pattern, benchtime string, env ...string) ([]benchLine, error) {
	return runBench(exec.Command("go", "test", "-run", "^$", "-bench", pattern, "-benchtime", benchtime, "-count", "1", pkg), pattern, pkg, env)
}

// goBenchFresh runs it on emulators of its own: they slow down as runs
// fill them, which would make the second of two runs look slower.
func goBenchFresh(pkg, pattern, benchtime string, env ...string) ([]benchLine, error) {
	return runBench(exec.Command("scripts/emulators.sh", "run", "--", "go", "test", "-run", "^$", "-bench", pattern, "-benchtime", benchtime, "-count", "1", pkg), pattern, pkg, env)
}

func runBench(cmd *exec.Cmd, pattern, pkg string, env []string) ([]benchLine, error) {
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go test -bench %s %s: %w\n%s", pattern, pkg, err, out.String())
	}
	var lines []benchLine
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		m := benchName.FindStringSubmatch(f[0])
		if m == nil {
			continue
		}
		l := benchLine{name: m[1], metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			l.metrics[f[i+1]] = v
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("go test -bench %s %s printed no results (skipped? the emulators must run: make bench)\n%s", pattern, pkg, out.String())
	}
	return lines, nil
}
