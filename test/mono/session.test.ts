/**
 * `anykernel boot` through a real pseudo-terminal (tmux): a whole session
 * the way a person types it — pipelines, redirection into files, a
 * here-document, a background job with jobs/fg, ^C of a `yes | head`-style
 * pipeline, ^Z and bg, exit codes, ps showing the process tree — ending with
 * `halt` and an empty leak report. Each step waits (with a deadline) for
 * its output to appear on the screen.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const SESSION = `ak-session-${process.pid}`;

function screen(): string {
  return execFileSync('tmux', ['capture-pane', '-p', '-t', SESSION, '-S', '-400'], { encoding: 'utf8' });
}

function keys(...k: string[]): void {
  execFileSync('tmux', ['send-keys', '-t', SESSION, ...k]);
}

/** Wait until the screen matches (polling tmux, at most `ms`); returns the screen. */
async function waitFor(re: RegExp, ms = 45_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const s = screen();
    if (re.test(s)) return s;
    if (Date.now() > end) throw new Error(`timed out waiting for ${re} on the screen:\n${s}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A whole output line, possibly after prompts: lines typed ahead reach the
 * terminal before the shell prints the prompt they answer, so a prompt can
 * land in front of the output.
 */
function line(text: string): RegExp {
  return new RegExp(`(?:^|[#>] )${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm');
}

/** Type a command line and wait for the output it should produce. */
async function run(line: string, expect: RegExp): Promise<string> {
  keys(line, 'Enter');
  return waitFor(expect);
}

describe.skipIf(!hasTmux && process.env.CI !== 'true')('a terminal session on the booted kernel', () => {
  afterAll(() => {
    spawnSync('tmux', ['kill-session', '-t', SESSION]);
  });

  it('runs pipelines, redirections, jobs and signals, then halts with an empty leak report', async () => {
    execFileSync('tmux', ['new-session', '-d', '-s', SESSION, '-x', '150', '-y', '50', `npx tsx src/cli/main.ts boot; echo "EXIT=$?"; sleep 60`]);
    await waitFor(/^#$/m, 90_000); // tmux trims the prompt's trailing space
    await run('echo one two three | wc -w', line('3'));
    await run('echo saved > /tmp/out; echo more >> /tmp/out; cat /tmp/out | sort -r | head -n 1', line('saved'));
    keys('cat <<EOF', 'Enter', 'doc $((6*7))', 'Enter', 'EOF', 'Enter');
    await waitFor(line('doc 42'));
    await run('false; echo status=$?', line('status=1'));
    // A background job, listed, brought back to the foreground.
    await run('sleep 2 &', /\[1\] \d+$/m);
    await run('jobs', /\[1\]\s+Running\s+sleep 2$/m);
    await run('fg; echo fg-done=$?', line('fg-done=0'));
    // ^C ends the foreground pipeline; the shell survives and reports 130.
    keys('yes | cat', 'Enter');
    await waitFor(line('y'));
    keys('C-c');
    await run('echo after=$?', line('after=130'));
    await run('yes | head -c 6 | wc -c', line('6'));
    // ^Z stops a job, bg continues it, ps shows the tree.
    // ^Z stops a job (once it has said it runs: a ^Z typed while the line still waits
    // in the terminal's input would flush it), bg continues it, ps shows the tree.
    keys('(echo started; sleep 30)', 'Enter');
    await waitFor(line('started'));
    keys('C-z');
    await waitFor(/Stopped\s+\(echo started; sleep 30\)/);
    await run('bg', /\[1\]\+ \(echo started; sleep 30\) &/);
    const ps = await run('ps', /sleep 30\n(?:.*\n)*.*\bps\b/m);
    const rows = ps.split('\n').filter((l) => /^\s+\d+\s+\d+/.test(l)).map((l) => l.trim().split(/\s+/));
    const init = rows.find((r) => r[6] === 'init')!;
    const shell = rows.find((r) => r[6] === '-sh')!;
    const sleeper = rows.find((r) => r[6] === 'sleep')!;
    const sub = rows.find((r) => r[0] === sleeper[1])!;
    expect(init[0]).toBe('1');
    expect(shell[1]).toBe('1'); // the shell's parent is init
    expect(sub[6]).toBe('sh'); // the subshell runs the sleep...
    expect(sub[1]).toBe(shell[0]); // ...and is the login shell's child
    expect(sub[2]).toBe(sub[0]); // a job: its own process group
    expect(sleeper[2]).toBe(sub[0]); // the sleep is in the job's group
    expect(sleeper[3]).toBe(shell[0]); // all in the shell's session
    await run('kill %1; wait; echo killed', line('killed'));
    keys('halt', 'Enter');
    const end = await waitFor(/EXIT=\d+/, 30_000);
    expect(end).toMatch(/halted: leak report clean/);
    expect(end).toMatch(/EXIT=0/);
  }, 400_000);
});
