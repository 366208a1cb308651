/**
 * Word expansion (POSIX.1-2017 XCU §2.6), in the standard order: tilde,
 * parameters ($x ${x} ${x:-w} ${x-w} ${x:=w} ${x:+w} ${x:?w} ${#x} ${x%p}
 * ${x%%p} ${x#p} ${x##p}, $? $$ $! $# $@ $* $0..$9), command substitution
 * ($(...) and `...`), arithmetic ($((...))), then field splitting of
 * unquoted expansion results on IFS, pathname expansion (globbing) of
 * unquoted pattern characters, and quote removal.
 *
 * A word becomes a list of pieces that remember whether they were quoted
 * and whether they came from an expansion; splitting and globbing look only
 * at what they may touch.
 */
export interface ExpandEnv {
  /** A parameter's value; may refuse an unset one (set -u). */
  get(name: string): string | undefined;
  /** A parameter's value without the set -u check (for ${x-w} and friends, which test for unset). */
  peek?(name: string): string | undefined;
  set(name: string, value: string): void;
  positional(): string[];
  cmdsubst(text: string): string;
  glob(pattern: string): string[];
  /** ${x:?w}: print and fail. */
  fail(msg: string): never;
}

interface Piece {
  text: string;
  quoted: boolean;
  /** Came from an unquoted expansion: subject to field splitting. */
  split: boolean;
  /** A field boundary ("$@"). */
  brk?: boolean;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** Shell pattern (with backslash-escaped literals) → RegExp source. */
export function patternRe(pat: string): string {
  let re = '';
  for (let i = 0; i < pat.length; i++) {
    const c = pat[i]!;
    if (c === '\\' && i + 1 < pat.length) re += escapeRe(pat[++i]!);
    else if (c === '*') re += '[\\s\\S]*';
    else if (c === '?') re += '[\\s\\S]';
    else if (c === '[') {
      const e = pat.indexOf(']', i + 2);
      if (e < 0) { re += '\\['; continue; }
      let body = pat.slice(i + 1, e);
      if (body.startsWith('!')) body = '^' + body.slice(1);
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = e;
    } else re += escapeRe(c);
  }
  return re;
}

function escapeRe(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? '\\' + c : c;
}

export function matchPattern(pat: string, s: string): boolean {
  return new RegExp(`^${patternRe(pat)}$`).test(s);
}

/** Escape a literal for use inside a pattern. */
function quotePat(s: string): string {
  return s.replace(/[*?[\\\]]/g, (c) => '\\' + c);
}

export class Expander {
  private readonly env: ExpandEnv;

  constructor(env: ExpandEnv) {
    this.env = env;
  }

  /** Full expansion of words into fields (arguments of a command, for-loop items). */
  fields(words: string[]): string[] {
    const out: string[] = [];
    for (const w of words) out.push(...this.fieldsOf(w));
    return out;
  }

  /** Expansion without splitting or globbing (assignments, redirection targets, case words). */
  string(word: string): string {
    return this.pieces(word, false).map((p) => (p.brk ? ' ' : p.text)).join('');
  }

  /** A case pattern: expansions' results are literal when quoted. */
  pattern(word: string): string {
    return this.pieces(word, false).map((p) => (p.quoted ? quotePat(p.text) : p.text)).join('');
  }

  private fieldsOf(word: string): string[] {
    const pieces = this.pieces(word, false);
    const ifs = this.env.get('IFS') ?? ' \t\n';
    const fields: { text: string; pat: string; hasQuoted: boolean; globbable: boolean }[] = [];
    let cur: { text: string; pat: string; hasQuoted: boolean; globbable: boolean } | null = null;
    const start = () => (cur ??= { text: '', pat: '', hasQuoted: false, globbable: false });
    const end = () => {
      if (cur !== null) fields.push(cur);
      cur = null;
    };
    for (const p of pieces) {
      if (p.brk) { end(); continue; }
      if (p.split) {
        for (const c of p.text) {
          if (ifs.includes(c)) end();
          else {
            const f = start();
            f.text += c;
            f.pat += c;
            if (c === '*' || c === '?' || c === '[') f.globbable = true;
          }
        }
        continue;
      }
      const f = start();
      f.text += p.text;
      if (p.quoted) {
        f.hasQuoted = true;
        f.pat += quotePat(p.text);
      } else {
        f.pat += p.text;
        if (/[*?[]/.test(p.text)) f.globbable = true;
      }
    }
    end();
    const out: string[] = [];
    for (const f of fields) {
      if (f.text === '' && !f.hasQuoted) continue;
      if (f.globbable) {
        const m = this.env.glob(f.pat);
        if (m.length > 0) { out.push(...m); continue; }
      }
      out.push(f.text);
    }
    return out;
  }

  /** Take a word apart into pieces, expanding as it goes. */
  private pieces(w: string, inDquote: boolean): Piece[] {
    const out: Piece[] = [];
    let lit = '';
    const flush = () => {
      if (lit !== '') out.push({ text: lit, quoted: inDquote, split: false });
      lit = '';
    };
    let i = 0;
    if (!inDquote && w[0] === '~') {
      const m = /^~([A-Za-z0-9_]*)(?=\/|$)/.exec(w);
      if (m && m[1] === '') {
        out.push({ text: this.env.get('HOME') ?? '/', quoted: true, split: false });
        i = 1;
      }
    }
    while (i < w.length) {
      const c = w[i]!;
      if (c === '\\') {
        const n = w[i + 1];
        if (n === undefined) { lit += '\\'; i++; continue; }
        if (inDquote && !'$`"\\\n'.includes(n)) { lit += '\\' + n; i += 2; continue; }
        flush();
        if (n !== '\n') out.push({ text: n, quoted: true, split: false });
        i += 2;
        continue;
      }
      if (c === "'" && !inDquote) {
        flush();
        const e = w.indexOf("'", i + 1);
        out.push({ text: w.slice(i + 1, e), quoted: true, split: false });
        i = e + 1;
        continue;
      }
      if (c === '"' && !inDquote) {
        flush();
        const e = dquoteEnd(w, i + 1);
        const inner = this.pieces(w.slice(i + 1, e), true);
        out.push(...(inner.length > 0 ? inner : [{ text: '', quoted: true, split: false }]));
        i = e + 1;
        continue;
      }
      if (c === '`') {
        flush();
        let j = i + 1, body = '';
        while (j < w.length && w[j] !== '`') {
          if (w[j] === '\\' && '$`\\'.includes(w[j + 1] ?? '')) { body += w[j + 1]; j += 2; } else body += w[j++];
        }
        out.push({ text: this.env.cmdsubst(body).replace(/\n+$/, ''), quoted: inDquote, split: !inDquote });
        i = j + 1;
        continue;
      }
      if (c === '$') {
        const r = this.dollar(w, i, inDquote);
        if (r !== null) {
          flush();
          out.push(...r.pieces);
          i = r.end;
          continue;
        }
      }
      lit += c;
      i++;
    }
    flush();
    return out;
  }

  private dollar(w: string, i: number, q: boolean): { pieces: Piece[]; end: number } | null {
    const n = w[i + 1];
    const val = (text: string): Piece[] => [{ text, quoted: q, split: !q }];
    if (n === '(' && w[i + 2] === '(') {
      const e = matchParen(w, i + 3, 2);
      const expr = this.string(w.slice(i + 3, e - 2));
      return { pieces: val(String(arith(expr, this.env))), end: e };
    }
    if (n === '(') {
      const e = matchParen(w, i + 2, 1);
      return { pieces: val(this.env.cmdsubst(w.slice(i + 2, e - 1)).replace(/\n+$/, '')), end: e };
    }
    if (n === '{') {
      const e = w.indexOf('}', i + 2);
      return { pieces: this.braced(w.slice(i + 2, e), q), end: e + 1 };
    }
    if (n === '@' || n === '*') {
      const ps = this.env.positional();
      if (n === '@' && q) {
        const pieces: Piece[] = [];
        ps.forEach((p, k) => {
          if (k > 0) pieces.push({ text: '', quoted: true, split: false, brk: true });
          pieces.push({ text: p, quoted: true, split: false });
        });
        return { pieces, end: i + 2 };
      }
      return { pieces: val(ps.join(q ? (this.env.get('IFS') ?? ' ')[0] ?? '' : ' ')), end: i + 2 };
    }
    if (n !== undefined && /[?$!#0-9-]/.test(n)) return { pieces: val(this.env.get(n) ?? ''), end: i + 2 };
    const m = NAME.exec(w.slice(i + 1));
    if (m) return { pieces: val(this.env.get(m[0]) ?? ''), end: i + 1 + m[0].length };
    return null;
  }

  private braced(inner: string, q: boolean): Piece[] {
    const val = (text: string): Piece[] => [{ text, quoted: q, split: !q }];
    if (inner.startsWith('#') && inner.length > 1) return val(String((this.env.get(inner.slice(1)) ?? '').length));
    const m = /^([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[?$!#@*-])(:?[-=+?]|%%|%|##|#)?([\s\S]*)$/.exec(inner);
    if (m === null) this.env.fail(`\${${inner}}: bad substitution`);
    const [, name, op, arg] = m as unknown as [string, string, string | undefined, string];
    const look = op !== undefined && this.env.peek ? this.env.peek : this.env.get;
    let v = name === '@' || name === '*' ? this.env.positional().join(' ') : look.call(this.env, name);
    if (op === undefined) return val(v ?? '');
    const unsetOrNull = op.startsWith(':') ? v === undefined || v === '' : v === undefined;
    switch (op.replace(':', '')) {
      case '-': return unsetOrNull ? this.pieces(arg, q) : val(v!);
      case '=':
        if (unsetOrNull) {
          v = this.string(arg);
          this.env.set(name, v);
        }
        return val(v!);
      case '+': return unsetOrNull ? [] : this.pieces(arg, q);
      case '?':
        if (unsetOrNull) this.env.fail(`${name}: ${arg === '' ? 'parameter not set' : this.string(arg)}`);
        return val(v!);
    }
    const s = v ?? '';
    const pat = this.pattern(arg);
    const re = patternRe(pat);
    if (op === '%' || op === '%%') {
      for (let k = op === '%' ? s.length : 0; op === '%' ? k >= 0 : k <= s.length; k += op === '%' ? -1 : 1) {
        if (new RegExp(`^${re}$`).test(s.slice(k))) return val(s.slice(0, k));
      }
      return val(s);
    }
    for (let k = op === '#' ? 0 : s.length; op === '#' ? k <= s.length : k >= 0; k += op === '#' ? 1 : -1) {
      if (new RegExp(`^${re}$`).test(s.slice(0, k))) return val(s.slice(k));
    }
    return val(s);
  }
}

function dquoteEnd(w: string, j: number): number {
  while (j < w.length && w[j] !== '"') {
    if (w[j] === '\\') j += 2;
    else if (w[j] === '$' && w[j + 1] === '(') j = matchParen(w, j + 2, 1);
    else if (w[j] === '`') {
      j++;
      while (j < w.length && w[j] !== '`') j += w[j] === '\\' ? 2 : 1;
      j++;
    } else j++;
  }
  return j;
}

/** Index just past the parentheses closing `depth` open ones, scanning from j. */
function matchParen(w: string, j: number, depth: number): number {
  while (j < w.length && depth > 0) {
    const c = w[j]!;
    if (c === '\\') j += 2;
    else if (c === "'") j = w.indexOf("'", j + 1) + 1;
    else if (c === '"') j = dquoteEnd(w, j + 1) + 1;
    else {
      if (c === '(') depth++;
      else if (c === ')') depth--;
      j++;
    }
  }
  return j;
}

/**
 * Arithmetic expansion (§2.6.4): integers with C's operators — unary + - ! ~,
 * * / %, + -, << >>, comparisons, == !=, & ^ |, && ||, ?:, and assignment
 * (= += -= *= /= %=). Variables are read as integers (unset or empty is 0).
 */
export function arith(expr: string, env: Pick<ExpandEnv, 'get' | 'set' | 'fail'>): number {
  const toks = expr.match(/\s*([0-9]+|[A-Za-z_][A-Za-z0-9_]*|<<=|>>=|\*\*|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%]=|[-+*/%<>=!~&^|?:()])/g) ?? [];
  const t = toks.map((x) => x.trim());
  if (t.join('') !== expr.replace(/\s+/g, '')) env.fail(`arithmetic syntax error: ${expr}`);
  let i = 0;
  const peek = () => t[i];
  const num = (name: string): number => {
    const v = env.get(name);
    if (v === undefined || v === '') return 0;
    const n = Number(v.trim());
    if (!Number.isInteger(n)) env.fail(`arithmetic: ${name}=${v} is not a number`);
    return n;
  };
  const bin: [string[], (a: number, b: number) => number][] = [];
  void bin;
  const ternary = (): number => {
    const c = lor();
    if (peek() === '?') {
      i++;
      const a = assign();
      if (t[i++] !== ':') env.fail('arithmetic: expected :');
      const b = assign();
      return c !== 0 ? a : b;
    }
    return c;
  };
  const assign = (): number => {
    if (/^[A-Za-z_]/.test(t[i] ?? '') && /^([-+*/%]?=)$/.test(t[i + 1] ?? '') && t[i + 1] !== '==') {
      const name = t[i]!, op = t[i + 1]!;
      i += 2;
      const v = assign();
      const old = num(name);
      const r = op === '=' ? v : op === '+=' ? old + v : op === '-=' ? old - v : op === '*=' ? old * v : op === '/=' ? div(old, v) : mod(old, v);
      env.set(name, String(r));
      return r;
    }
    return ternary();
  };
  const div = (a: number, b: number): number => (b === 0 ? env.fail('arithmetic: division by zero') : Math.trunc(a / b));
  const mod = (a: number, b: number): number => (b === 0 ? env.fail('arithmetic: division by zero') : a % b);
  const level = (ops: string[], next: () => number, f: (op: string, a: number, b: number) => number) => (): number => {
    let a = next();
    while (ops.includes(peek() ?? '')) {
      const op = t[i++]!;
      a = f(op, a, next());
    }
    return a;
  };
  const unary = (): number => {
    const tk = t[i++];
    if (tk === undefined) env.fail('arithmetic: unexpected end');
    if (tk === '-') return -unary();
    if (tk === '+') return unary();
    if (tk === '!') return unary() === 0 ? 1 : 0;
    if (tk === '~') return ~unary();
    if (tk === '(') {
      const v = assign();
      if (t[i++] !== ')') env.fail('arithmetic: expected )');
      return v;
    }
    if (/^[0-9]/.test(tk)) return Number(tk);
    if (/^[A-Za-z_]/.test(tk)) return num(tk);
    return env.fail(`arithmetic syntax error near '${tk}'`);
  };
  const mul = level(['*', '/', '%'], unary, (op, a, b) => (op === '*' ? a * b : op === '/' ? div(a, b) : mod(a, b)));
  const add = level(['+', '-'], mul, (op, a, b) => (op === '+' ? a + b : a - b));
  const shift = level(['<<', '>>'], add, (op, a, b) => (op === '<<' ? a << b : a >> b));
  const rel = level(['<', '>', '<=', '>='], shift, (op, a, b) => Number(op === '<' ? a < b : op === '>' ? a > b : op === '<=' ? a <= b : a >= b));
  const eq = level(['==', '!='], rel, (op, a, b) => Number(op === '==' ? a === b : a !== b));
  const band = level(['&'], eq, (_o, a, b) => a & b);
  const bxor = level(['^'], band, (_o, a, b) => a ^ b);
  const bor = level(['|'], bxor, (_o, a, b) => a | b);
  const land = level(['&&'], bor, (_o, a, b) => Number(a !== 0 && b !== 0));
  const lor = level(['||'], land, (_o, a, b) => Number(a !== 0 || b !== 0));
  if (t.length === 0) return 0;
  const v = assign();
  if (i !== t.length) env.fail(`arithmetic syntax error: ${expr}`);
  return v;
}
