/**
 * The shell's grammar (POSIX.1-2017 XCU §2.10 "Shell Grammar"), parsed by
 * recursive descent straight from the text:
 *
 *   list      := and_or ((';' | '&' | NL) and_or)*
 *   and_or    := pipeline (('&&' | '||') linebreak pipeline)*
 *   pipeline  := ['!'] command ('|' linebreak command)*
 *   command   := simple | '(' list ')' | '{' list '}' | if | for | while
 *                | until | case | name '()' command      (then redirections)
 *   simple    := (assignment | word | redirection)+
 *
 * Words keep their quoting (expand.ts takes them apart); here-document
 * bodies are read at the newline after their operator (§2.7.4). Parsing
 * an incomplete text (an open quote, `if` without `fi`, a trailing `|`)
 * throws `Incomplete` so an interactive reader can ask for another line.
 */

export type Word = string;

export interface Redir {
  fd: number;
  op: '<' | '>' | '>>' | '>|' | '<>' | '<&' | '>&' | '<<' | '<<-';
  target: Word;
  /** Here-document body, filled in when its lines are read; `quoted` disables expansion. */
  body?: string;
  quoted?: boolean;
}

/** A command; `text` is its source with its redirections (for re-running it in a child shell). */
export type Node = NodeBody & { text?: string };

type NodeBody =
  | { t: 'simple'; assigns: Word[]; words: Word[]; redirs: Redir[] }
  | { t: 'subshell'; body: List; redirs: Redir[]; src: string }
  | { t: 'group'; body: List; redirs: Redir[] }
  | { t: 'if'; arms: { cond: List; body: List }[]; else: List | null; redirs: Redir[] }
  | { t: 'for'; name: string; items: Word[] | null; body: List; redirs: Redir[] }
  | { t: 'while'; until: boolean; cond: List; body: List; redirs: Redir[] }
  | { t: 'case'; word: Word; arms: { pats: Word[]; body: List }[]; redirs: Redir[] }
  | { t: 'func'; name: string; body: Node; src: string };

export interface Pipeline {
  bang: boolean;
  cmds: Node[];
  /** The text of the pipeline (for jobs and subshell re-execution). */
  src: string;
}

export interface AndOr {
  first: Pipeline;
  rest: { op: '&&' | '||'; p: Pipeline }[];
  background: boolean;
  src: string;
}

export type List = AndOr[];

export class Incomplete extends Error {}
export class SyntaxError_ extends Error {}

const RESERVED = new Set(['if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'case', 'esac', 'while', 'until', 'for', 'in', '{', '}', '!']);
const OPS = ['&&', '||', ';;', '<<-', '<<', '>>', '<&', '>&', '<>', '>|', '&', '|', ';', '<', '>', '(', ')', '\n'];

export class Parser {
  private readonly s: string;
  private i = 0;
  private pendingHeredocs: Redir[] = [];

  constructor(text: string) {
    this.s = text;
  }

  /** Parse the whole text into a list (throws Incomplete or SyntaxError_). */
  static parse(text: string): List {
    const p = new Parser(text);
    const l = p.list(new Set());
    p.skipBlank();
    if (p.i < p.s.length) throw new SyntaxError_(`syntax error near unexpected '${p.peekToken() ?? p.s[p.i]}'`);
    return l;
  }

  private skipBlank(): void {
    const s = this.s;
    for (;;) {
      while (this.i < s.length && (s[this.i] === ' ' || s[this.i] === '\t')) this.i++;
      if (s[this.i] === '\\' && s[this.i + 1] === '\n') { this.i += 2; continue; }
      if (s[this.i] === '#') {
        while (this.i < s.length && s[this.i] !== '\n') this.i++;
      }
      return;
    }
  }

  /** The operator at the cursor, if any (not consumed). */
  private peekOp(): string | null {
    this.skipBlank();
    for (const op of OPS) if (this.s.startsWith(op, this.i)) return op;
    return null;
  }

  private peekToken(): string | null {
    const op = this.peekOp();
    if (op !== null) return op;
    const save = this.i;
    const w = this.wordRaw();
    this.i = save;
    return w;
  }

  private eatOp(op: string): boolean {
    if (this.peekOp() === op) {
      this.i += op.length;
      if (op === '\n') this.readHeredocs();
      return true;
    }
    return false;
  }

  /** Newlines (and the here-document bodies they end). */
  private linebreak(): void {
    while (this.eatOp('\n'));
  }

  private atEnd(): boolean {
    this.skipBlank();
    return this.i >= this.s.length;
  }

  /** A reserved word at the cursor (only where a command may start). */
  private peekReserved(): string | null {
    this.skipBlank();
    const m = /^(if|then|else|elif|fi|do|done|case|esac|while|until|for|in|\{|\}|!)(?=[\s;&|()<>]|$)/.exec(this.s.slice(this.i, this.i + 8));
    return m ? m[1]! : null;
  }

  private eatReserved(w: string): boolean {
    if (this.peekReserved() === w) {
      this.i += w.length;
      return true;
    }
    return false;
  }

  private expectReserved(w: string): void {
    this.linebreak();
    if (this.eatReserved(w)) return;
    if (this.atEnd()) throw new Incomplete(`expected '${w}'`);
    throw new SyntaxError_(`syntax error: expected '${w}' near '${this.peekToken()}'`);
  }

  /** list, stopping before any reserved word in `stops` (or ')' / ';;' / end). */
  list(stops: Set<string>): List {
    const out: List = [];
    for (;;) {
      this.linebreak();
      if (this.atEnd()) return out;
      const r = this.peekReserved();
      if (r !== null && stops.has(r)) return out;
      const op = this.peekOp();
      if (op === ')' || op === ';;') return out;
      const start = this.i;
      const ao = this.andOr();
      ao.src = this.s.slice(start, this.i).trim();
      out.push(ao);
      const sep = this.peekOp();
      if (sep === '&') {
        this.i++;
        ao.background = true;
      } else if (sep === ';') this.i++;
      else if (sep === '\n') this.eatOp('\n');
      else return out;
    }
  }

  private andOr(): AndOr {
    const first = this.pipeline();
    const rest: AndOr['rest'] = [];
    for (;;) {
      const op = this.peekOp();
      if (op !== '&&' && op !== '||') break;
      this.i += 2;
      this.linebreak();
      if (this.atEnd()) throw new Incomplete(`expected a command after ${op}`);
      rest.push({ op, p: this.pipeline() });
    }
    return { first, rest, background: false, src: '' };
  }

  private pipeline(): Pipeline {
    const start = this.i;
    const bang = this.eatReserved('!');
    const cmds = [this.command()];
    for (;;) {
      if (this.peekOp() !== '|') break;
      this.i++;
      this.linebreak();
      if (this.atEnd()) throw new Incomplete('expected a command after |');
      cmds.push(this.command());
    }
    return { bang, cmds, src: this.s.slice(start, this.i).trim() };
  }

  private redirs(into: Redir[]): void {
    for (;;) {
      const r = this.redir();
      if (r === null) return;
      into.push(r);
    }
  }

  private redir(): Redir | null {
    this.skipBlank();
    const save = this.i;
    let fd = -1;
    const m = /^(\d+)(?=[<>])/.exec(this.s.slice(this.i, this.i + 4));
    if (m) {
      fd = Number(m[1]);
      this.i += m[1]!.length;
    }
    const op = this.peekOp();
    if (op === null || !['<', '>', '>>', '>|', '<>', '<&', '>&', '<<', '<<-'].includes(op)) {
      this.i = save;
      return null;
    }
    this.i += op.length;
    this.skipBlank();
    const target = this.wordRaw();
    if (target === null) {
      if (this.atEnd()) throw new Incomplete('expected a word after a redirection');
      throw new SyntaxError_(`syntax error: expected a word after ${op}`);
    }
    if (fd < 0) fd = op[0] === '<' ? 0 : 1;
    const r: Redir = { fd, op: op as Redir['op'], target };
    if (op === '<<' || op === '<<-') {
      r.quoted = /['"\\]/.test(target);
      this.pendingHeredocs.push(r);
    }
    return r;
  }

  /** After a newline: each pending here-document takes lines up to its delimiter. */
  private readHeredocs(): void {
    for (const r of this.pendingHeredocs.splice(0)) {
      const delim = r.target.replace(/['"\\]/g, '');
      const lines: string[] = [];
      for (;;) {
        if (this.i >= this.s.length) throw new Incomplete(`here-document delimited by '${delim}' is not finished`);
        let nl = this.s.indexOf('\n', this.i);
        if (nl < 0) nl = this.s.length;
        let line = this.s.slice(this.i, nl);
        this.i = Math.min(nl + 1, this.s.length);
        if (r.op === '<<-') line = line.replace(/^\t+/, '');
        if (line === delim) break;
        if (nl === this.s.length) throw new Incomplete(`here-document delimited by '${delim}' is not finished`);
        lines.push(line);
      }
      r.body = lines.map((l) => l + '\n').join('');
    }
  }

  private command(): Node {
    this.skipBlank();
    const start = this.i;
    const r = this.peekReserved();
    let node: Node;
    if (this.peekOp() === '(') {
      this.i++;
      const body = this.list(new Set());
      this.linebreak();
      if (!this.eatOp(')')) {
        if (this.atEnd()) throw new Incomplete("expected ')'");
        throw new SyntaxError_(`syntax error: expected ')'`);
      }
      node = { t: 'subshell', body, redirs: [], src: this.s.slice(start + 1, this.i - 1) };
    } else if (r === '{') {
      this.i++;
      const body = this.list(new Set(['}']));
      this.expectReserved('}');
      node = { t: 'group', body, redirs: [] };
    } else if (r === 'if') {
      this.i += 2;
      const arms: { cond: List; body: List }[] = [];
      let els: List | null = null;
      for (;;) {
        const cond = this.list(new Set(['then']));
        this.expectReserved('then');
        const body = this.list(new Set(['elif', 'else', 'fi']));
        arms.push({ cond, body });
        this.linebreak();
        if (this.eatReserved('elif')) continue;
        if (this.eatReserved('else')) els = this.list(new Set(['fi']));
        this.expectReserved('fi');
        break;
      }
      node = { t: 'if', arms, else: els, redirs: [] };
    } else if (r === 'while' || r === 'until') {
      this.i += r.length;
      const cond = this.list(new Set(['do']));
      this.expectReserved('do');
      const body = this.list(new Set(['done']));
      this.expectReserved('done');
      node = { t: 'while', until: r === 'until', cond, body, redirs: [] };
    } else if (r === 'for') {
      this.i += 3;
      this.skipBlank();
      const name = this.wordRaw();
      if (name === null || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw this.atEnd() ? new Incomplete('for') : new SyntaxError_('syntax error: bad for loop variable');
      let items: Word[] | null = null;
      this.linebreak();
      if (this.eatReserved('in')) {
        items = [];
        for (;;) {
          this.skipBlank();
          const op = this.peekOp();
          if (op === ';' || op === '\n') { this.i++; if (op === '\n') this.readHeredocs(); break; }
          if (this.atEnd()) throw new Incomplete('for');
          const w = this.wordRaw();
          if (w === null) throw new SyntaxError_('syntax error in for');
          items.push(w);
        }
      } else this.eatOp(';');
      this.expectReserved('do');
      const body = this.list(new Set(['done']));
      this.expectReserved('done');
      node = { t: 'for', name, items, body, redirs: [] };
    } else if (r === 'case') {
      this.i += 4;
      this.skipBlank();
      const word = this.wordRaw();
      if (word === null) throw this.atEnd() ? new Incomplete('case') : new SyntaxError_('syntax error in case');
      this.expectReserved('in');
      const arms: { pats: Word[]; body: List }[] = [];
      for (;;) {
        this.linebreak();
        if (this.eatReserved('esac')) break;
        if (this.atEnd()) throw new Incomplete('case');
        this.eatOp('(');
        const pats: Word[] = [];
        for (;;) {
          this.skipBlank();
          const p = this.wordRaw();
          if (p === null) throw this.atEnd() ? new Incomplete('case') : new SyntaxError_('syntax error in case pattern');
          pats.push(p);
          if (this.eatOp('|')) continue;
          if (this.eatOp(')')) break;
          throw this.atEnd() ? new Incomplete('case') : new SyntaxError_("syntax error: expected ')' in case");
        }
        const body = this.list(new Set(['esac']));
        arms.push({ pats, body });
        this.linebreak();
        if (this.eatOp(';;')) continue;
        this.expectReserved('esac');
        break;
      }
      node = { t: 'case', word, arms, redirs: [] };
    } else if (r !== null && r !== '!' && r !== 'in') {
      throw new SyntaxError_(`syntax error near unexpected '${r}'`);
    } else {
      // A function definition: name ( ) compound-command.
      const m = /^([A-Za-z_][A-Za-z0-9_]*)[ \t]*\([ \t]*\)/.exec(this.s.slice(this.i, this.i + 200));
      if (m) {
        this.i += m[0].length;
        this.linebreak();
        if (this.atEnd()) throw new Incomplete('function body');
        const body = this.command();
        return { t: 'func', name: m[1]!, body, src: this.s.slice(start, this.i), text: this.s.slice(start, this.i) };
      }
      const sn = this.simple();
      sn.text = this.s.slice(start, this.i);
      return sn;
    }
    this.redirs(node.redirs);
    node.text = this.s.slice(start, this.i);
    return node;
  }

  private simple(): Node {
    const assigns: Word[] = [];
    const words: Word[] = [];
    const redirs: Redir[] = [];
    for (;;) {
      const rd = this.redir();
      if (rd !== null) {
        redirs.push(rd);
        continue;
      }
      this.skipBlank();
      if (this.peekOp() !== null) break;
      const w = this.wordRaw();
      if (w === null) break;
      if (words.length === 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(w)) assigns.push(w);
      else words.push(w);
    }
    if (assigns.length + words.length + redirs.length === 0) {
      if (this.atEnd()) throw new Incomplete('expected a command');
      throw new SyntaxError_(`syntax error near unexpected '${this.peekToken()}'`);
    }
    return { t: 'simple', assigns, words, redirs };
  }

  /** One word with its quotes kept, or null at an operator/end. */
  wordRaw(): string | null {
    const s = this.s;
    const start = this.i;
    while (this.i < s.length) {
      const c = s[this.i]!;
      if (c === ' ' || c === '\t' || c === '\n' || c === ';' || c === '&' || c === '|' || c === '<' || c === '>' || c === '(' || c === ')') break;
      if (c === '\\') {
        if (this.i + 1 >= s.length) throw new Incomplete('\\ at end');
        this.i += 2;
      } else if (c === "'") {
        const e = s.indexOf("'", this.i + 1);
        if (e < 0) throw new Incomplete('unterminated quote');
        this.i = e + 1;
      } else if (c === '"') this.i = this.dquoteEnd(this.i + 1);
      else if (c === '`') {
        let j = this.i + 1;
        while (j < s.length && s[j] !== '`') j += s[j] === '\\' ? 2 : 1;
        if (j >= s.length) throw new Incomplete('unterminated `');
        this.i = j + 1;
      } else if (c === '$' && s[this.i + 1] === '(') this.i = this.parenEnd(this.i + 2);
      else if (c === '$' && s[this.i + 1] === '{') {
        const e = s.indexOf('}', this.i + 2);
        if (e < 0) throw new Incomplete('unterminated ${');
        this.i = e + 1;
      } else this.i++;
    }
    return this.i > start ? s.slice(start, this.i) : null;
  }

  private dquoteEnd(j: number): number {
    const s = this.s;
    while (j < s.length && s[j] !== '"') {
      if (s[j] === '\\') j += 2;
      else if (s[j] === '$' && s[j + 1] === '(') j = this.parenEnd(j + 2);
      else if (s[j] === '`') {
        j++;
        while (j < s.length && s[j] !== '`') j += s[j] === '\\' ? 2 : 1;
        j++;
      } else j++;
    }
    if (j >= s.length) throw new Incomplete('unterminated "');
    return j + 1;
  }

  /** Past the ')' matching a '$(' (or '$((') whose inside starts at j. */
  private parenEnd(j: number): number {
    const s = this.s;
    let depth = 1;
    while (j < s.length && depth > 0) {
      const c = s[j]!;
      if (c === '\\') j += 2;
      else if (c === "'") {
        const e = s.indexOf("'", j + 1);
        if (e < 0) throw new Incomplete('unterminated quote');
        j = e + 1;
      } else if (c === '"') j = this.dquoteEnd(j + 1);
      else {
        if (c === '(') depth++;
        else if (c === ')') depth--;
        j++;
      }
    }
    if (depth > 0) throw new Incomplete('unterminated $(');
    return j;
  }
}

export { RESERVED };
