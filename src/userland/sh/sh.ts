/**
 * sh: the shell (POSIX.1-2017 XCU §2 "Shell Command Language", a dash-sized
 * subset). Commands are read a complete command at a time (parse.ts asks for
 * more lines while a construct is open), expanded (expand.ts) and run:
 *
 *   - external commands by posix_spawn: redirections and pipe ends become
 *     file actions (open, dup2, close), pipes are made close-on-exec so only
 *     the dup2'd ends reach a child;
 *   - built-ins in the shell itself, their redirections applied around them
 *     and undone after (saved with F_DUPFD_CLOEXEC);
 *   - subshells, and built-ins or compound commands inside a pipeline, as a
 *     child `sh -c` whose text is prefixed with the shell's variables and
 *     functions (there is no fork for a worker-thread image);
 *   - traps (§2.14 trap): a trapped signal's handler runs at the system-call
 *     boundary where the kernel delivers it and only queues the signal; the
 *     trap's commands run between commands; EXIT runs as the shell ends;
 *   - job control when interactive (§2.11, "Job Control"): each pipeline is
 *     a process group; the foreground one gets the terminal (tcsetpgrp), a
 *     stop (^Z) puts it in the job table; jobs, fg, bg, wait; the shell
 *     ignores SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU and its children
 *     get them back at their defaults.
 *
 * Usage: sh [-c COMMANDS [NAME [ARG...]] | -s [ARG...] | -i | SCRIPT [ARG...]].
 * A login shell ("-sh" as argv[0]) is interactive.
 */
import { type Libc, echoEscapes, errcode, strerror } from '../libc.ts';
import {
  F_DUPFD_CLOEXEC, F_SETPIPE_SZ, O_APPEND, O_CLOEXEC, O_CREAT, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, SIGCONT, SIGINT, SIGQUIT,
  SIGTSTP, SIGTTIN, SIGTTOU, TIOCGPGRP, TIOCSPGRP, WEXITSTATUS, WIFEXITED, WIFSIGNALED, WIFSTOPPED, WNOHANG, WTERMSIG,
  WUNTRACED, TCGETS,
} from '../abi.ts';
import { Incomplete, Parser, SyntaxError_, type AndOr, type List, type Node, type Pipeline, type Redir } from './parse.ts';
import { Expander, arith, matchPattern, patternRe } from './expand.ts';
import { testExpr } from '../test_expr.ts';

const JOB_SIGS = [SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU];
/** Pipeline pipes get Linux's default pipe-max-size (1 MiB). */
const PIPE_SIZE = 1 << 20;

class ShellExit {
  constructor(readonly status: number) {}
}
class LoopCtl {
  constructor(readonly kind: 'break' | 'continue', public n: number) {}
}
class FuncReturn {
  constructor(readonly status: number) {}
}
class ExpandFail extends Error {}

interface Job {
  id: number;
  pgid: number;
  pids: number[];
  /** pid → wait status once it ended. */
  done: Map<number, number>;
  state: 'running' | 'stopped' | 'done';
  cmd: string;
}

/** One file action for spawn. */
type Action = { op: 'open'; fd: number; path: string; flags: number; mode?: number } | { op: 'close'; fd: number } | { op: 'dup2'; fd: number; newfd: number };

function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export class Shell {
  readonly u: Libc;
  readonly vars = new Map<string, string>();
  readonly exported = new Set<string>();
  readonly funcs = new Map<string, { body: Node; src: string }>();
  positional: string[];
  status = 0;
  interactive = false;
  /** set -e (errexit), -u (nounset), -x (xtrace). */
  readonly opts = { e: false, u: false, x: false };
  /** trap actions by signal number (0: EXIT); '' ignores the signal. */
  readonly traps = new Map<number, string>();
  /** Signals caught and not yet acted on: their traps run between commands. */
  private readonly pendingTraps: number[] = [];
  private inTrap = false;
  /** > 0 while running a condition (if/while/until, the left of && and ||, after !): errexit does not apply there. */
  private condDepth = 0;
  private lastBg = 0;
  private readonly jobs: Job[] = [];
  private shellPgid = 0;
  private tmpSeq = 0;
  private readonly ex: Expander;
  private name: string;

  constructor(u: Libc, name: string, positional: string[]) {
    this.u = u;
    this.name = name;
    this.positional = positional;
    for (const [k, v] of u.env) {
      this.vars.set(k, v);
      this.exported.add(k);
    }
    if (!this.vars.has('PATH')) this.vars.set('PATH', '/bin:/sbin');
    if (!this.vars.has('IFS')) this.vars.set('IFS', ' \t\n');
    const self = this;
    this.ex = new Expander({
      get: (n) => self.getVar(n),
      peek: (n) => self.getVar(n, false),
      set: (n, v) => { self.vars.set(n, v); },
      positional: () => self.positional,
      cmdsubst: (t) => self.cmdsubst(t),
      glob: (p) => self.glob(p),
      fail: (m) => { throw new ExpandFail(m); },
    });
  }

  private getVar(n: string, strict = true): string | undefined {
    switch (n) {
      case '?': return String(this.status);
      case '$': return String(this.u.sys.getpid!());
      case '!': return this.lastBg ? String(this.lastBg) : '';
      case '#': return String(this.positional.length);
      case '0': return this.name;
      case '-': return this.interactive ? 'i' : '';
    }
    const v = /^[1-9][0-9]*$/.test(n) ? this.positional[Number(n) - 1] : this.vars.get(n);
    // set -u: expanding an unset parameter is an error (except $@ and $*, handled before here).
    if (v === undefined && this.opts.u && strict) throw new ExpandFail(`${n}: parameter not set`);
    return v;
  }

  /** Run fn as a condition: errexit does not apply inside it. */
  private cond<T>(fn: () => T): T {
    this.condDepth++;
    try {
      return fn();
    } finally {
      this.condDepth--;
    }
  }

  private envp(extra: Map<string, string> = new Map()): string[] {
    const out: string[] = [];
    for (const k of this.exported) {
      if (extra.has(k)) continue;
      const v = this.vars.get(k);
      if (v !== undefined) out.push(`${k}=${v}`);
    }
    for (const [k, v] of extra) out.push(`${k}=${v}`);
    return out;
  }

  // ---- reading and running --------------------------------------------------

  /** Run a whole text (sh -c, eval, a script read at once). */
  runText(text: string): number {
    let list: List;
    try {
      list = Parser.parse(text);
    } catch (e) {
      this.u.err(`${this.name}: ${e instanceof Incomplete ? 'syntax error: unexpected end of file' : (e as Error).message}\n`);
      this.status = 2;
      return 2;
    }
    return this.runList(list);
  }

  /** Read commands from fd a complete command at a time (interactive or -s or a script). */
  runFd(fd: number): number {
    let buf = '';
    let pending = '';
    const chunk = new Uint8Array(4096);
    const dec = new TextDecoder();
    let eof = false;
    for (;;) {
      if (this.interactive && pending === '') {
        this.u.stdout.flush();
        this.reportJobs(true);
        this.u.err(buf === '' ? (this.vars.get('PS1') ?? '$ ') : (this.vars.get('PS2') ?? '> '));
        this.u.stderr.flush();
      }
      let line: string | null = null;
      for (;;) {
        const nl = pending.indexOf('\n');
        if (nl >= 0) {
          line = pending.slice(0, nl + 1);
          pending = pending.slice(nl + 1);
          break;
        }
        if (eof) {
          if (pending !== '') { line = pending; pending = ''; }
          break;
        }
        let n: number;
        try {
          n = this.u.read(fd, chunk);
        } catch (e) {
          if (errcode(e) === 'EIO') n = 0;
          else throw e;
        }
        if (n === 0) eof = true;
        else pending += dec.decode(chunk.subarray(0, n), { stream: true });
      }
      if (line === null) {
        if (buf !== '') this.u.err(`${this.name}: syntax error: unexpected end of file\n`);
        if (this.interactive) this.u.err('\n');
        return buf !== '' ? 2 : this.status;
      }
      buf += line;
      let list: List;
      try {
        list = Parser.parse(buf);
      } catch (e) {
        if (e instanceof Incomplete) continue;
        this.u.err(`${this.name}: ${(e as Error).message}\n`);
        buf = '';
        this.status = 2;
        if (!this.interactive) return 2;
        continue;
      }
      buf = '';
      this.runList(list);
    }
  }

  runList(list: List): number {
    for (const ao of list) this.runAndOr(ao);
    return this.status;
  }

  /** Run the traps of signals caught since the last command (XCU §2.14 trap: between commands). */
  runTraps(): void {
    if (this.inTrap) return;
    this.inTrap = true;
    try {
      while (this.pendingTraps.length > 0) {
        const sig = this.pendingTraps.shift()!;
        const action = this.traps.get(sig);
        if (action === undefined || action === '') continue;
        const saved = this.status;
        this.runText(action);
        this.status = saved;
      }
    } finally {
      this.inTrap = false;
    }
  }

  /** trap ACTION SIG...: '' ignores, '-' restores the default, anything else is run when the signal comes. */
  setTrap(action: string, sig: number): void {
    if (sig === 0) {
      if (action === '-') this.traps.delete(0);
      else this.traps.set(0, action);
      return;
    }
    if (action === '-') {
      this.traps.delete(sig);
      this.u.signal(sig, 'default');
    } else if (action === '') {
      this.traps.set(sig, '');
      this.u.signal(sig, 'ignore');
    } else {
      this.traps.set(sig, action);
      this.u.signal(sig, (n) => { this.pendingTraps.push(n); });
    }
  }

  /** The EXIT trap, once, as the shell ends. */
  exitTrap(): void {
    const action = this.traps.get(0);
    if (action === undefined) return;
    this.traps.delete(0);
    this.runText(action);
  }

  private runAndOr(ao: AndOr): void {
    try {
      this.runAndOrBody(ao);
    } finally {
      if (this.pendingTraps.length > 0) this.runTraps();
    }
  }

  private runAndOrBody(ao: AndOr): void {
    if (ao.background) {
      this.background(ao);
      return;
    }
    const n = ao.rest.length;
    let st = n > 0 ? this.cond(() => this.runPipeline(ao.first)) : this.runPipeline(ao.first);
    let last = ao.first;
    ao.rest.forEach(({ op, p }, i) => {
      if ((op === '&&') !== (st === 0)) return;
      st = i < n - 1 ? this.cond(() => this.runPipeline(p)) : this.runPipeline(p);
      last = p;
    });
    this.status = st;
    // set -e (XCU §2.14 set): a failing command that is not part of a condition ends the shell.
    const ranLast = n === 0 || last === ao.rest[n - 1]!.p;
    if (this.opts.e && st !== 0 && this.condDepth === 0 && ranLast && !last.bang) throw new ShellExit(st);
  }

  private background(ao: AndOr): void {
    const single = ao.rest.length === 0 && !ao.first.bang ? ao.first : null;
    const job = single !== null
      ? this.startPipeline(single, true)
      : this.startPipeline({ bang: false, cmds: [{ t: 'subshell', body: [{ ...ao, background: false }], redirs: [], src: ao.src }], src: ao.src }, true);
    if (job === null) return;
    this.lastBg = job.pids[job.pids.length - 1]!;
    this.jobs.push(job);
    if (this.interactive) this.u.err(`[${job.id}] ${this.lastBg}\n`);
    this.status = 0;
  }

  private runPipeline(p: Pipeline): number {
    if (p.bang && this.condDepth === 0) return this.cond(() => this.runPipeline(p));
    let st: number;
    if (p.cmds.length === 1 && this.runsInShell(p.cmds[0]!)) {
      st = this.runCommand(p.cmds[0]!);
    } else {
      const job = this.startPipeline(p, false);
      st = job === null ? this.status : this.waitJob(job);
    }
    return p.bang ? (st === 0 ? 1 : 0) : st;
  }

  /** Commands the shell runs itself (not through a child): built-ins, compound commands, functions. */
  private runsInShell(n: Node): boolean {
    if (n.t === 'subshell') return false;
    if (n.t !== 'simple') return true;
    if (n.words.length === 0) return true;
    const w = this.ex.string(n.words[0]!);
    return BUILTINS.has(w) || this.funcs.has(w);
  }

  // ---- children -------------------------------------------------------------

  private nextJobId(): number {
    let id = 1;
    while (this.jobs.some((j) => j.id === id)) id++;
    return id;
  }

  /** Spawn every command of a pipeline; null when the first could not start. */
  private startPipeline(p: Pipeline, bg: boolean): Job | null {
    const sys = this.u.sys;
    const n = p.cmds.length;
    const pipes: [number, number][] = [];
    const job: Job = { id: this.nextJobId(), pgid: 0, pids: [], done: new Map(), state: 'running', cmd: p.src };
    this.u.stdout.flush();
    try {
      for (let i = 0; i < n - 1; i++) {
        const pp = sys.pipe2!(O_CLOEXEC) as [number, number];
        // A bigger pipe means fewer hand-offs between the two worker threads per megabyte.
        try { sys.fcntl!(pp[1], F_SETPIPE_SZ, PIPE_SIZE); } catch { /* keep the default */ }
        pipes.push(pp);
      }
      for (let i = 0; i < n; i++) {
        const actions: Action[] = [];
        if (i > 0) actions.push({ op: 'dup2', fd: pipes[i - 1]![0], newfd: 0 });
        if (i < n - 1) actions.push({ op: 'dup2', fd: pipes[i]![1], newfd: 1 });
        const pid = this.spawnNode(p.cmds[i]!, actions, job, bg);
        if (pid > 0) {
          job.pids.push(pid);
          if (job.pgid === 0) job.pgid = pid;
        } else if (pid < 0) job.done.set(-pid, 0);
      }
    } finally {
      for (const [r, w] of pipes) {
        sys.close!(r);
        sys.close!(w);
      }
    }
    if (job.pids.length === 0) return null;
    return job;
  }

  /** Spawn one command of a pipeline; returns its pid (0 if it failed to start, status set). */
  private spawnNode(node: Node, pipeActions: Action[], job: Job, bg: boolean): number {
    const sys = this.u.sys;
    const attrs: Record<string, unknown> = {};
    if (this.interactive) {
      attrs.pgroup = job.pgid;
      // The first process of a foreground job takes the terminal before it runs (no ^C race).
      if (!bg && job.pgid === 0) attrs.tcsetpgrp = 0;
      attrs.sigdefault = [...JOB_SIGS, 15 /* SIGTERM, which an interactive shell ignores */];
    } else if (bg) attrs.sigdefault = [];
    let path: string;
    let argv: string[];
    let env = this.envp();
    const cleanup: number[] = [];
    const actions: Action[] = [...pipeActions];
    try {
      if (node.t === 'simple' && !this.runsInShell(node)) {
        const words = this.ex.fields(node.words);
        if (words.length === 0) return 0;
        const extra = new Map<string, string>();
        for (const a of node.assigns) {
          const i = a.indexOf('=');
          extra.set(a.slice(0, i), this.ex.string(a.slice(i + 1)));
        }
        env = this.envp(extra);
        const found = this.u.which(words[0]!);
        if (found === null) {
          this.u.err(`${this.name}: ${words[0]}: not found\n`);
          this.status = 127;
          return 0;
        }
        path = found;
        argv = words;
        actions.push(...this.redirActions(node.redirs, cleanup));
      } else {
        // A subshell, or a built-in/compound command in a pipeline: a child shell.
        // Its own redirections travel in its text, except a subshell's (applied here).
        const text = node.t === 'subshell' ? node.src : node.text ?? '';
        path = '/bin/sh';
        argv = ['sh', '-c', this.stateText() + text];
        if (node.t === 'subshell') actions.push(...this.redirActions(node.redirs, cleanup));
      }
      this.u.stdout.flush();
      this.u.stderr.flush();
      return sys.spawn!(path, argv, env, { ...attrs, actions }) as number;
    } catch (e) {
      if (e instanceof ExpandFail) {
        this.u.err(`${this.name}: ${e.message}\n`);
        this.status = 1;
        return 0;
      }
      const c = errcode(e);
      if (c === null) throw e;
      this.u.err(`${this.name}: ${argv! ? argv[0] : '?'}: ${strerror(e)}\n`);
      this.status = c === 'ENOENT' ? 127 : 126;
      return 0;
    } finally {
      for (const fd of cleanup) try { sys.close!(fd); } catch { /* closed */ }
    }
  }

  /** Source text to re-create this shell's variables, functions and arguments in a child shell. */
  private stateText(): string {
    let s = '';
    for (const [k, v] of this.vars) if (!this.exported.has(k) && /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) && k !== 'IFS') s += `${k}=${sq(v)}\n`;
    if (this.vars.get('IFS') !== ' \t\n') s += `IFS=${sq(this.vars.get('IFS') ?? '')}\n`;
    for (const [, f] of this.funcs) s += `${f.src}\n`;
    if (this.positional.length > 0) s += `set -- ${this.positional.map(sq).join(' ')}\n`;
    const flags = (['e', 'u', 'x'] as const).filter((f) => this.opts[f]).join('');
    if (flags !== '') s += `set -${flags}\n`;
    if (this.status !== 0) s += `(exit ${this.status})\n`;
    return s;
  }

  /** Wait for a foreground job (handing it the terminal when interactive); its status. */
  private waitJob(job: Job): number {
    const sys = this.u.sys;
    if (this.interactive) this.setFg(job.pgid);
    try {
      while (job.done.size < job.pids.length) {
        let r: { pid: number; status: number };
        try {
          r = sys.wait4!(this.interactive ? -job.pgid : job.pids.find((p) => !job.done.has(p))!, this.interactive ? WUNTRACED : 0) as { pid: number; status: number };
        } catch (e) {
          if (errcode(e) === 'EINTR') continue;
          break;
        }
        if (WIFSTOPPED(r.status)) {
          job.state = 'stopped';
          if (!this.jobs.includes(job)) this.jobs.push(job);
          this.u.err(`[${job.id}]+  Stopped                 ${job.cmd}\n`);
          return 128 + ((r.status >> 8) & 0xff);
        }
        job.done.set(r.pid, r.status);
      }
    } finally {
      if (this.interactive) this.setFg(this.shellPgid);
    }
    job.state = 'done';
    const i = this.jobs.indexOf(job);
    if (i >= 0) this.jobs.splice(i, 1);
    const last = job.done.get(job.pids[job.pids.length - 1]!) ?? 0;
    return WIFEXITED(last) ? WEXITSTATUS(last) : 128 + WTERMSIG(last);
  }

  private setFg(pgid: number): void {
    try {
      this.u.sys.ioctl!(0, TIOCSPGRP, pgid);
    } catch { /* not our terminal */ }
  }

  /** Collect finished background jobs; print "Done" lines when interactive. */
  private reportJobs(print: boolean): void {
    const sys = this.u.sys;
    for (;;) {
      let r: { pid: number; status: number };
      try {
        r = sys.wait4!(-1, WNOHANG | (this.interactive ? WUNTRACED : 0)) as { pid: number; status: number };
      } catch {
        break;
      }
      if (r.pid === 0) break;
      const job = this.jobs.find((j) => j.pids.includes(r.pid));
      if (job === undefined) continue;
      if (WIFSTOPPED(r.status)) { job.state = 'stopped'; continue; }
      job.done.set(r.pid, r.status);
      if (job.done.size === job.pids.length) job.state = 'done';
    }
    for (const j of [...this.jobs]) {
      if (j.state !== 'done') continue;
      if (print && this.interactive) this.u.err(`[${j.id}]+  Done                    ${j.cmd}\n`);
      this.jobs.splice(this.jobs.indexOf(j), 1);
    }
  }

  // ---- redirections -------------------------------------------------------------

  private heredocFd(r: Redir): number {
    const sys = this.u.sys;
    const body = r.quoted ? r.body ?? '' : this.ex.string(`"${(r.body ?? '').replace(/(["\\])/g, (m, c) => (c === '"' ? '\\"' : '\\\\'))}"`).replace(/\\\\/g, '\\');
    const path = `/tmp/.sh-heredoc-${sys.getpid!()}-${this.tmpSeq++}`;
    const fd = sys.open!(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600) as number;
    sys.unlink!(path);
    this.u.writeAll(fd, new TextEncoder().encode(body));
    sys.lseek!(fd, 0, 0);
    return fd;
  }

  /** Redirections as spawn file actions; descriptors the shell opened for them go in `cleanup`. */
  private redirActions(redirs: Redir[], cleanup: number[]): Action[] {
    const acts: Action[] = [];
    for (const r of redirs) {
      if (r.op === '<<' || r.op === '<<-') {
        const fd = this.heredocFd(r);
        cleanup.push(fd);
        acts.push({ op: 'dup2', fd, newfd: r.fd });
        continue;
      }
      const t = this.ex.string(r.target);
      if (r.op === '<&' || r.op === '>&') {
        if (t === '-') acts.push({ op: 'close', fd: r.fd });
        else if (/^\d+$/.test(t)) acts.push({ op: 'dup2', fd: Number(t), newfd: r.fd });
        else throw new ExpandFail(`${t}: bad file descriptor`);
        continue;
      }
      acts.push({ op: 'open', fd: r.fd, path: t, flags: openFlags(r.op), mode: 0o666 });
    }
    return acts;
  }

  /** Apply redirections in the shell around fn, then undo them. */
  private withRedirs<T>(redirs: Redir[], fn: () => T): T {
    if (redirs.length === 0) return fn();
    const sys = this.u.sys;
    const saved: [number, number | null][] = [];
    this.u.stdout.flush();
    this.u.stderr.flush();
    const save = (fd: number) => {
      if (saved.some(([f]) => f === fd)) return;
      let copy: number | null = null;
      try {
        copy = sys.fcntl!(fd, F_DUPFD_CLOEXEC, 10) as number;
      } catch { /* fd was not open */ }
      saved.push([fd, copy]);
    };
    try {
      for (const r of redirs) {
        save(r.fd);
        if (r.op === '<<' || r.op === '<<-') {
          const fd = this.heredocFd(r);
          sys.dup2!(fd, r.fd);
          sys.close!(fd);
          continue;
        }
        const t = this.ex.string(r.target);
        if (r.op === '<&' || r.op === '>&') {
          if (t === '-') { try { sys.close!(r.fd); } catch { /* already */ } } else sys.dup2!(Number(t), r.fd);
          continue;
        }
        const fd = sys.open!(t, openFlags(r.op), 0o666) as number;
        if (fd !== r.fd) {
          sys.dup2!(fd, r.fd);
          sys.close!(fd);
        }
      }
      return fn();
    } finally {
      this.u.stdout.flush();
      this.u.stderr.flush();
      for (const [fd, copy] of saved.reverse()) {
        if (copy === null) { try { sys.close!(fd); } catch { /* not open */ } } else {
          sys.dup2!(copy, fd);
          sys.close!(copy);
        }
      }
    }
  }

  // ---- commands in the shell -------------------------------------------------------

  runCommand(n: Node): number {
    try {
      switch (n.t) {
        case 'simple': return this.simple(n);
        case 'group': return this.withRedirs(n.redirs, () => this.runList(n.body));
        case 'if': return this.withRedirs(n.redirs, () => {
          for (const arm of n.arms) {
            if (this.cond(() => this.runList(arm.cond)) === 0) return this.runList(arm.body);
          }
          return n.else !== null ? this.runList(n.else) : (this.status = 0);
        });
        case 'while': return this.withRedirs(n.redirs, () => {
          let st = 0;
          for (;;) {
            const c = this.cond(() => this.runList(n.cond));
            if ((c === 0) === n.until) break;
            try {
              st = this.runList(n.body);
            } catch (e) {
              if (!(e instanceof LoopCtl)) throw e;
              if (--e.n > 0) throw e;
              if (e.kind === 'break') break;
            }
          }
          return (this.status = st);
        });
        case 'for': return this.withRedirs(n.redirs, () => {
          const items = n.items === null ? this.positional.slice() : this.ex.fields(n.items);
          let st = 0;
          for (const it of items) {
            this.vars.set(n.name, it);
            try {
              st = this.runList(n.body);
            } catch (e) {
              if (!(e instanceof LoopCtl)) throw e;
              if (--e.n > 0) throw e;
              if (e.kind === 'break') break;
            }
          }
          return (this.status = st);
        });
        case 'case': return this.withRedirs(n.redirs, () => {
          const w = this.ex.string(n.word);
          for (const arm of n.arms) {
            if (arm.pats.some((p) => matchPattern(this.ex.pattern(p), w))) return this.runList(arm.body);
          }
          return (this.status = 0);
        });
        case 'func':
          this.funcs.set(n.name, { body: n.body, src: n.src });
          return (this.status = 0);
        case 'subshell': {
          const job = this.startPipeline({ bang: false, cmds: [n], src: n.src }, false);
          return (this.status = job === null ? this.status : this.waitJob(job));
        }
      }
    } catch (e) {
      if (e instanceof ExpandFail) {
        this.u.err(`${this.name}: ${e.message}\n`);
        if (!this.interactive) throw new ShellExit(2);
        return (this.status = 2);
      }
      const c = errcode(e);
      if (c !== null) {
        this.u.err(`${this.name}: ${(e as Error).message.replace(/^[A-Z]+: \w+ /, '')}: ${strerror(e)}\n`.replace(/^(\S+): '(.*)': /, '$1: $2: '));
        return (this.status = 1);
      }
      throw e;
    }
  }

  private simple(n: Extract<Node, { t: 'simple' }>): number {
    const words = this.ex.fields(n.words);
    if (this.opts.x && words.length > 0) this.u.err(`+ ${words.join(' ')}\n`);
    if (words.length === 0) {
      for (const a of n.assigns) {
        const i = a.indexOf('=');
        this.vars.set(a.slice(0, i), this.ex.string(a.slice(i + 1)));
      }
      return this.withRedirs(n.redirs, () => (this.status = 0));
    }
    const f = this.funcs.get(words[0]!);
    if (f !== undefined) {
      const saved = this.positional;
      this.positional = words.slice(1);
      try {
        return this.withRedirs(n.redirs, () => this.runCommand(f.body));
      } catch (e) {
        if (e instanceof FuncReturn) return (this.status = e.status);
        throw e;
      } finally {
        this.positional = saved;
      }
    }
    const b = BUILTINS.get(words[0]!)!;
    // Assignments before a special built-in persist; before others they are temporary.
    const saved = new Map<string, string | undefined>();
    for (const a of n.assigns) {
      const i = a.indexOf('=');
      const k = a.slice(0, i);
      if (!SPECIAL.has(words[0]!)) saved.set(k, this.vars.get(k));
      this.vars.set(k, this.ex.string(a.slice(i + 1)));
    }
    try {
      return (this.status = this.withRedirs(n.redirs, () => b(this, words)));
    } finally {
      for (const [k, v] of saved) if (v === undefined) this.vars.delete(k); else this.vars.set(k, v);
    }
  }

  // ---- expansion helpers ---------------------------------------------------------------

  private cmdsubst(text: string): string {
    const sys = this.u.sys;
    const [r, w] = sys.pipe2!(O_CLOEXEC) as [number, number];
    let pid = 0;
    try {
      this.u.stdout.flush();
      pid = sys.spawn!('/bin/sh', ['sh', '-c', this.stateText() + text], this.envp(), { actions: [{ op: 'dup2', fd: w, newfd: 1 }] }) as number;
    } finally {
      sys.close!(w);
    }
    const out = new TextDecoder().decode(this.u.readAll(r));
    sys.close!(r);
    const { status } = sys.wait4!(pid, 0) as { status: number };
    this.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return out;
  }

  /** Pathname expansion (§2.13.3): match each path component against a directory's entries, sorted. */
  private glob(pattern: string): string[] {
    const sys = this.u.sys;
    const abs = pattern.startsWith('/');
    const parts = pattern.split('/').filter((p, i) => p !== '' || i === 0);
    let bases = [abs ? '/' : ''];
    for (let i = abs ? 1 : 0; i < parts.length; i++) {
      const part = parts[i]!;
      const next: string[] = [];
      const literal = !/[*?[]/.test(part.replace(/\\./g, ''));
      for (const b of bases) {
        if (literal) {
          const p = b + part.replace(/\\(.)/g, '$1');
          try { sys.lstat!(p); next.push(p); } catch { /* no match */ }
        } else {
          const re = new RegExp(`^${patternRe(part)}$`);
          let fd: number;
          try { fd = sys.open!(b === '' ? '.' : b, O_RDONLY | 0o200000) as number; } catch { continue; }
          try {
            for (;;) {
              const ents = sys.getdents64!(fd, 65536) as { name: string }[];
              if (ents.length === 0) break;
              for (const e of ents) {
                if (e.name === '.' || e.name === '..') continue;
                if (e.name.startsWith('.') && !part.startsWith('.')) continue;
                if (re.test(e.name)) next.push(b + e.name);
              }
            }
          } finally {
            sys.close!(fd);
          }
        }
      }
      bases = next.sort().map((p) => (i < parts.length - 1 ? p + '/' : p));
      if (bases.length === 0) return [];
    }
    return bases;
  }

  // ---- built-ins' helpers --------------------------------------------------------------------

  setVar(k: string, v: string): void {
    this.vars.set(k, v);
  }

  jobList(): Job[] {
    this.reportJobs(false);
    return this.jobs;
  }

  /** fg/bg: continue a job, in the foreground (waiting for it) or the background. */
  resume(spec: string | undefined, fg: boolean): number {
    this.reportJobs(false);
    const job = spec === undefined ? this.jobs[this.jobs.length - 1] : this.jobs.find((j) => `%${j.id}` === spec || String(j.id) === spec);
    if (job === undefined) {
      this.u.err(`${this.name}: ${fg ? 'fg' : 'bg'}: ${spec ?? 'current'}: no such job\n`);
      return 1;
    }
    if (fg) this.u.err(`${job.cmd}\n`);
    else this.u.err(`[${job.id}]+ ${job.cmd} &\n`);
    job.state = 'running';
    try {
      this.u.sys.kill!(-job.pgid, SIGCONT);
    } catch { /* gone */ }
    if (!fg) return 0;
    return this.waitJob(job);
  }

  waitAll(pids: string[]): number {
    const sys = this.u.sys;
    let st = 0;
    if (pids.length === 0) {
      for (;;) {
        try {
          sys.wait4!(-1, 0);
        } catch (e) {
          if (errcode(e) === 'EINTR') continue;
          break;
        }
      }
      this.jobs.length = 0;
      return 0;
    }
    for (const p of pids) {
      const job = p.startsWith('%') ? this.jobs.find((j) => `%${j.id}` === p) : undefined;
      const targets = job ? job.pids : [Number(p)];
      for (const t of targets) {
        try {
          const r = sys.wait4!(t, 0) as { status: number };
          st = WIFEXITED(r.status) ? WEXITSTATUS(r.status) : 128 + WTERMSIG(r.status);
        } catch {
          st = 127;
        }
      }
      if (job) this.jobs.splice(this.jobs.indexOf(job), 1);
    }
    return st;
  }

  /** Interactive set-up: own process group, the terminal's foreground, job signals ignored. */
  setupInteractive(): void {
    const sys = this.u.sys;
    this.interactive = true;
    for (const s of JOB_SIGS) sys.sigaction!(s, { handler: 1 });
    sys.sigaction!(15 /* SIGTERM */, { handler: 1 });
    try {
      const pid = sys.getpid!() as number;
      try { sys.setpgid!(0, 0); } catch { /* a session leader already leads its group */ }
      this.shellPgid = sys.getpgid!(0) as number;
      if ((sys.ioctl!(0, TIOCGPGRP) as number) !== this.shellPgid) this.setFg(this.shellPgid);
      void pid;
    } catch {
      this.shellPgid = sys.getpgid!(0) as number;
    }
    if (!this.vars.has('PS1')) this.vars.set('PS1', (sys.geteuid!() as number) === 0 ? '# ' : '$ ');
  }
}

function openFlags(op: Redir['op']): number {
  switch (op) {
    case '<': return O_RDONLY;
    case '>': case '>|': return O_WRONLY | O_CREAT | O_TRUNC;
    case '>>': return O_WRONLY | O_CREAT | O_APPEND;
    case '<>': return O_RDWR | O_CREAT;
    default: return O_RDONLY;
  }
}

type Builtin = (sh: Shell, argv: string[]) => number;

/** Special built-ins (§2.14): assignments before them persist. */
const SPECIAL = new Set([':', '.', 'break', 'continue', 'eval', 'exit', 'export', 'return', 'set', 'shift', 'unset']);

const BUILTINS = new Map<string, Builtin>([
  [':', () => 0],
  ['true', () => 0],
  ['false', () => 1],
  ['echo', (sh, a) => {
    const args = a.slice(1);
    let nl = true;
    while (args[0] === '-n') { nl = false; args.shift(); }
    const { text, stop } = echoEscapes(args.join(' '));
    sh.u.out(text + (nl && !stop ? '\n' : ''));
    return 0;
  }],
  ['cd', (sh, a) => {
    const dir = a[1] === undefined ? sh.vars.get('HOME') ?? '/' : a[1] === '-' ? sh.vars.get('OLDPWD') ?? '.' : a[1];
    try {
      sh.u.sys.chdir!(dir);
    } catch (e) {
      sh.u.err(`cd: can't cd to ${dir}\n`);
      void e;
      return 2;
    }
    sh.vars.set('OLDPWD', sh.vars.get('PWD') ?? '');
    sh.vars.set('PWD', sh.u.sys.getcwd!() as string);
    if (a[1] === '-') sh.u.out(`${sh.vars.get('PWD')}\n`);
    return 0;
  }],
  ['pwd', (sh) => { sh.u.out(`${sh.u.sys.getcwd!()}\n`); return 0; }],
  ['exit', (sh, a) => { throw new ShellExit(a[1] !== undefined ? Number(a[1]) & 0xff : sh.status); }],
  ['return', (sh, a) => { throw new FuncReturn(a[1] !== undefined ? Number(a[1]) & 0xff : sh.status); }],
  ['break', (_sh, a) => { throw new LoopCtl('break', Number(a[1] ?? 1)); }],
  ['continue', (_sh, a) => { throw new LoopCtl('continue', Number(a[1] ?? 1)); }],
  ['export', (sh, a) => {
    if (a.length === 1 || a[1] === '-p') {
      for (const k of [...sh.exported].sort()) if (sh.vars.has(k)) sh.u.out(`export ${k}=${sq(sh.vars.get(k)!)}\n`);
      return 0;
    }
    for (const x of a.slice(1)) {
      const i = x.indexOf('=');
      const k = i < 0 ? x : x.slice(0, i);
      if (i >= 0) sh.vars.set(k, x.slice(i + 1));
      sh.exported.add(k);
    }
    return 0;
  }],
  ['unset', (sh, a) => {
    for (const k of a.slice(1)) {
      if (k === '-f' || k === '-v') continue;
      if (a[1] === '-f') sh.funcs.delete(k);
      else { sh.vars.delete(k); sh.exported.delete(k); }
    }
    return 0;
  }],
  ['set', (sh, a) => {
    if (a[1] === '--') { sh.positional = a.slice(2); return 0; }
    if (a.length === 1) {
      for (const [k, v] of [...sh.vars].sort()) sh.u.out(`${k}=${sq(v)}\n`);
      return 0;
    }
    let i = 1;
    for (; i < a.length; i++) {
      const x = a[i]!;
      if (x === '--') { sh.positional = a.slice(i + 1); return 0; }
      if (!/^[-+][eux]+$/.test(x)) break;
      for (const c of x.slice(1)) sh.opts[c as 'e' | 'u' | 'x'] = x[0] === '-';
    }
    if (i < a.length) {
      if (a[i]!.startsWith('-') || a[i]!.startsWith('+')) { sh.u.err(`set: ${a[i]}: unsupported option (only -e, -u, -x)\n`); return 2; }
      sh.positional = a.slice(i);
    }
    return 0;
  }],
  ['trap', (sh, a) => {
    const names = ['EXIT', 'HUP', 'INT', 'QUIT', 'ILL', 'TRAP', 'ABRT', 'BUS', 'FPE', 'KILL', 'USR1', 'SEGV', 'USR2', 'PIPE', 'ALRM', 'TERM'];
    if (a.length === 1) {
      for (const [sig, act] of sh.traps) sh.u.out(`trap -- ${sq(act)} ${names[sig] ?? sig}\n`);
      return 0;
    }
    const action = a[1]!;
    let st = 0;
    for (const x of a.slice(2)) {
      const sig = /^\d+$/.test(x) ? Number(x) : names.indexOf(x.replace(/^SIG/, ''));
      if (sig < 0 || sig === 9 || sig === 19 || sig >= 65) { sh.u.err(`trap: ${x}: bad trap\n`); st = 1; continue; }
      sh.setTrap(action, sig);
    }
    return st;
  }],
  ['shift', (sh, a) => {
    const n = Number(a[1] ?? 1);
    if (n > sh.positional.length) return 1;
    sh.positional = sh.positional.slice(n);
    return 0;
  }],
  ['eval', (sh, a) => sh.runText(a.slice(1).join(' '))],
  ['.', (sh, a) => {
    if (a[1] === undefined) return 0;
    let text: string;
    try {
      text = new TextDecoder().decode(sh.u.readFile(a[1]));
    } catch (e) {
      sh.u.err(`.: ${a[1]}: ${strerror(e)}\n`);
      return 2;
    }
    return sh.runText(text);
  }],
  ['read', (sh, a) => {
    let raw = false;
    const names = a.slice(1).filter((x) => (x === '-r' ? ((raw = true), false) : true));
    const bytes: number[] = [];
    const one = new Uint8Array(1);
    let got = false;
    sh.u.stdout.flush();
    for (;;) {
      const n = sh.u.read(0, one);
      if (n === 0) break;
      got = true;
      if (one[0] === 10) break;
      bytes.push(one[0]!);
    }
    let line = new TextDecoder().decode(Uint8Array.from(bytes));
    if (!raw) line = line.replace(/\\(.)/g, '$1');
    const ifs = sh.vars.get('IFS') ?? ' \t\n';
    const fields = line.split(new RegExp(`[${ifs.replace(/[\]\\^-]/g, '\\$&')}]+`)).filter((x, i, arr) => x !== '' || (i > 0 && i < arr.length - 1));
    const vs = names.length === 0 ? ['REPLY'] : names;
    vs.forEach((v, i) => sh.setVar(v, i === vs.length - 1 ? fields.slice(i).join(' ') : fields[i] ?? ''));
    return got ? 0 : 1;
  }],
  ['test', (sh, a) => testExpr(sh.u.sys, a.slice(1), (m) => sh.u.err(`test: ${m}\n`))],
  ['[', (sh, a) => {
    if (a[a.length - 1] !== ']') { sh.u.err('[: missing ]\n'); return 2; }
    return testExpr(sh.u.sys, a.slice(1, -1), (m) => sh.u.err(`[: ${m}\n`));
  }],
  ['jobs', (sh) => {
    for (const j of sh.jobList()) sh.u.out(`[${j.id}]  ${j.state === 'stopped' ? 'Stopped' : j.state === 'done' ? 'Done' : 'Running'}                 ${j.cmd}\n`);
    return 0;
  }],
  ['fg', (sh, a) => sh.resume(a[1], true)],
  ['kill', (sh, a) => {
    // The kill built-in: like /bin/kill, and %N names job N's process group.
    const args = a.slice(1).map((x) => {
      const j = /^%(\d+)$/.exec(x) ? sh.jobList().find((jj) => `%${jj.id}` === x) : undefined;
      return j ? String(-j.pgid) : x;
    });
    let sig = 15;
    const names = ['', 'HUP', 'INT', 'QUIT', 'ILL', 'TRAP', 'ABRT', 'BUS', 'FPE', 'KILL', 'USR1', 'SEGV', 'USR2', 'PIPE', 'ALRM', 'TERM', 'STKFLT', 'CHLD', 'CONT', 'STOP', 'TSTP', 'TTIN', 'TTOU'];
    if (args[0] === '-l') { sh.u.out(names.slice(1).join(' ') + '\n'); return 0; }
    if (args[0] === '-s') { args.shift(); sig = names.indexOf((args.shift() ?? '').replace(/^SIG/, '')); } else if (args[0] !== undefined && /^-[A-Z0-9]+$/.test(args[0]) && args.length > 1) {
      const x = args.shift()!.slice(1);
      sig = /^\d+$/.test(x) ? Number(x) : names.indexOf(x.replace(/^SIG/, ''));
    }
    if (args[0] === '--') args.shift();
    if (sig < 0 || args.length === 0) { sh.u.err('usage: kill [-s sig | -SIG] pid | %job ...\n'); return 2; }
    let st = 0;
    for (const p of args) {
      try { sh.u.sys.kill!(Number(p), sig); } catch (e) { sh.u.err(`kill: (${p}) - ${strerror(e)}\n`); st = 1; }
    }
    return st;
  }],
  ['bg', (sh, a) => sh.resume(a[1], false)],
  ['wait', (sh, a) => sh.waitAll(a.slice(1))],
  ['umask', (sh, a) => {
    if (a[1] === undefined) {
      const m = sh.u.sys.umask!(0) as number;
      sh.u.sys.umask!(m);
      sh.u.out(`${m.toString(8).padStart(4, '0')}\n`);
    } else sh.u.sys.umask!(parseInt(a[1], 8));
    return 0;
  }],
]);

/** Entry point: /bin/sh. */
export function sh(u: Libc): number {
  const args = u.argv.slice(1);
  const login = (u.argv[0] ?? '').startsWith('-');
  let shell: Shell | undefined;
  /** The EXIT trap runs once, whichever way the shell ends. */
  const finish = (status: number): number => {
    if (shell === undefined) return status;
    shell.status = status;
    try {
      shell.exitTrap();
    } catch (e) {
      if (!(e instanceof ShellExit)) throw e;
      return e.status;
    }
    return status;
  };
  try {
    if (args[0] === '--help') {
      u.out('usage: sh [-c COMMANDS [NAME [ARG...]] | -s [ARG...] | -i | SCRIPT [ARG...]]\n');
      return 0;
    }
    if (args[0] === '-c') {
      if (args[1] === undefined) { u.err('sh: -c requires an argument\n'); return 2; }
      shell = new Shell(u, args[2] ?? 'sh', args.slice(3));
      return finish(shell.runText(args[1]));
    }
    if (args[0] !== undefined && args[0] !== '-s' && args[0] !== '-i') {
      let fd: number;
      try {
        fd = u.sys.open!(args[0], O_RDONLY | O_CLOEXEC) as number;
      } catch (e) {
        u.err(`sh: cannot open ${args[0]}: ${strerror(e)}\n`);
        return 127;
      }
      shell = new Shell(u, args[0], args.slice(1));
      const text = new TextDecoder().decode(u.readAll(fd));
      u.sys.close!(fd);
      return finish(shell.runText(text));
    }
    shell = new Shell(u, 'sh', args.slice(1));
    let tty = false;
    try { u.sys.ioctl!(0, TCGETS); tty = true; } catch { /* not a terminal */ }
    if (args[0] === '-i' || (login && tty)) shell.setupInteractive();
    return finish(shell.runFd(0));
  } catch (e) {
    if (e instanceof ShellExit) return finish(e.status);
    if (e instanceof LoopCtl || e instanceof FuncReturn) return finish(0);
    throw e;
  }
}

/** For the tests: arithmetic without a shell. */
export { arith };
