/**
 * The kernel's sh against the host's dash: each script runs under both (in
 * a fresh empty working directory) and must print the same standard output
 * and end with the same exit status. All scripts run in one boot of the
 * monolithic kernel, brought in and their results taken out through an
 * etfs bind of a host directory.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const SCRIPTS: string[] = [
  'echo hello world',
  'echo -n no newline; echo',
  'x=1; y=2; echo $x$y "$x $y"',
  "echo 'single $x' \"double\"",
  'echo a | cat',
  'echo one; echo two | cat; echo three',
  'printf "%s\\n" b a c | sort',
  'printf "%s\\n" b a c | sort -r | head -n 1',
  'true && echo yes',
  'false && echo no; echo $?',
  'false || echo fallback',
  'true || echo never; echo after',
  'exit 3',
  '(exit 7); echo $?',
  'echo data > f; cat f',
  'echo a > f; echo b >> f; cat f',
  'echo err 2>&1 | cat',
  'ls nothere 2>/dev/null; echo $?',
  'cat <<EOF\nline one\nline two\nEOF',
  'v=x; cat <<EOF\nvalue $v\nEOF',
  "cat <<'EOF'\nno $expansion\nEOF",
  'for i in 1 2 3; do echo $i; done',
  'for i in a b; do for j in 1 2; do echo $i$j; done; done',
  'i=0; while [ $i -lt 3 ]; do echo $i; i=$((i+1)); done',
  'i=3; until [ $i -eq 0 ]; do echo $i; i=$((i-1)); done',
  'if true; then echo t; else echo f; fi',
  'if false; then echo t; elif true; then echo e; fi',
  'x=5; if [ $x -gt 3 ]; then echo big; fi',
  'echo $((2+3*4)) $((10/3)) $((10%3)) $(( (1+2)*3 ))',
  'echo $(echo inner)',
  'echo "$(echo a b)"',
  'x=`echo back`; echo $x',
  'f() { echo in f $1; }; f arg',
  'f() { return 4; }; f; echo $?',
  'set -- a b c; echo $# $1 $3',
  'set -- a b c; for x in "$@"; do echo $x; done',
  'set -- a b; shift; echo $1',
  'echo ${unset:-default} ${unset-d2}',
  'x=abc.txt; echo ${x%.txt} ${x#a} ${#x}',
  'x=; echo ${x:+set}${x:-empty}',
  'case foo in f*) echo matched;; *) echo no;; esac',
  'case bar in foo|bar) echo either;; esac',
  'mkdir d; touch d/a d/b; ls d',
  'mkdir -p a/b/c; ls a/b',
  'touch x y z; echo *',
  'touch a1 a2 b1; echo a*',
  'echo "quoted *"',
  'echo one two three | wc -w',
  'printf "a\\nb\\nc\\n" | wc -l',
  'printf "x\\ny\\nx\\n" | sort | uniq -c',
  'echo hello | tr a-z A-Z',
  'echo a:b:c | cut -d: -f2',
  'printf "apple\\nbanana\\n" | grep an',
  'printf "apple\\n" | grep -c zzz; echo $?',
  'echo abc > f; cp f g; mv g h; cat h; ls',
  'echo x > f; rm f; ls',
  '{ echo a; echo b; } | sort -r',
  'x=1; (x=2; echo $x); echo $x',
  'cd /; pwd',
  'export V=exported; sh -c "echo \\$V"',
  'echo $(( 5 > 3 )) $(( 1 == 2 ))',
  'test -z "" && echo empty',
  '[ abc = abc ] && echo eq',
  'yes | head -n 3',
  'seq() { i=$1; while [ $i -le $2 ]; do echo $i; i=$((i+1)); done; }; seq 1 4 | tail -n 2',
  'read a b <<EOF\nfirst second third\nEOF\necho $b',
  'while read line; do echo "got $line"; done <<EOF\nx\ny\nEOF',
  'nothere_cmd 2>/dev/null; echo $?',
  '! false; echo $?',
  'echo "tab\\there"; echo "stop\\c here"; echo after',
  'printf "%5s|%-3d|%x\\n" ab 7 255',
  'x="a b  c"; for w in $x; do echo "[$w]"; done',
  'echo "${x:-}" "${#}"; set -- 1 2 3; echo "$*"',
  'set -e; echo one; false; echo not reached',
  'set -e; false || true; if false; then :; fi; ! true; echo survived',
  'set -e; f() { false; echo in-f; }; f; echo after',
  'set -e; (false); echo not reached',
  'set -u; echo ${unset_var:-d}; echo $unset_var; echo not reached',
  'trap "echo caught USR1" USR1; kill -USR1 $$; echo after',
  'trap "echo bye" EXIT; echo working; exit 3',
  "trap '' INT; kill -INT $$; echo ignored",
];

const hasDash = spawnSync('dash', ['-c', 'true']).status === 0;

describe.skipIf(!hasDash)('kernel sh vs dash', () => {
  it(`${SCRIPTS.length} scripts print the same and end with the same status`, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-diff-'));
    try {
      SCRIPTS.forEach((s, i) => fs.writeFileSync(path.join(dir, `${String(i).padStart(3, '0')}.sh`), s + '\n'));
      const driver = 'n=0; for f in /t/*.sh; do n=$((n+1)); d=/tmp/w$n; mkdir $d; cd $d; sh $f > $f.out 2>/dev/null; echo $? > $f.st; cd /; done';
      execFileSync('npx', ['tsx', 'src/cli/main.ts', 'boot', '--bind', `${dir}:/t:rw`, '-c', driver], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 240_000 });
      const mismatches: string[] = [];
      SCRIPTS.forEach((s, i) => {
        const f = path.join(dir, `${String(i).padStart(3, '0')}.sh`);
        const w = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-dash-'));
        const ref = spawnSync('dash', [f], { cwd: w, encoding: 'utf8' });
        fs.rmSync(w, { recursive: true, force: true });
        const out = fs.readFileSync(`${f}.out`, 'utf8');
        const st = Number(fs.readFileSync(`${f}.st`, 'utf8').trim());
        if (out !== ref.stdout || st !== ref.status) mismatches.push(`#${i} ${JSON.stringify(s)}\n  kernel: ${JSON.stringify(out)} (${st})\n  dash:   ${JSON.stringify(ref.stdout)} (${ref.status})`);
      });
      expect(mismatches, mismatches.join('\n')).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
