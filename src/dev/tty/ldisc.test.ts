/**
 * The line discipline against a model: random typed input (printable
 * bytes, newlines, erase, kill, ^D, ^C) in canonical mode must make readable
 * exactly the lines a simple editing model predicts, echo what a terminal
 * shows, and raise SIGINT for ^C; plus the raw-mode and output rules.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LineDiscipline, parseTermios, defaultTermios } from './ldisc.ts';
import { ECHO, ICANON, ISIG, SIGINT, SIGTSTP, SIGQUIT, VMIN } from '../../kern/constants.ts';

const dec = new TextDecoder();
const bytes = (s: string) => new TextEncoder().encode(s);

/** Read everything readable: lines (strings) and 'EOF' marks. */
function drain(ld: LineDiscipline): string[] {
  const out: string[] = [];
  for (;;) {
    const r = ld.read(1 << 20);
    if (r === null) return out;
    if (r === 0) out.push('EOF');
    else out.push(dec.decode(r));
  }
}

/** The model: what a user sees as lines after editing, and the signals. */
function model(keys: number[]): { lines: string[]; signals: number[] } {
  let line: number[] = [];
  const lines: string[] = [];
  const signals: number[] = [];
  for (const c of keys) {
    if (c === 3) { signals.push(SIGINT); line = []; lines.length = 0; continue; } // ^C flushes queued input too
    if (c === 0x7f) { line.pop(); continue; }
    if (c === 0x15) { line = []; continue; }
    if (c === 4) { lines.push(line.length ? String.fromCharCode(...line) : 'EOF'); line = []; continue; }
    if (c === 13 || c === 10) { lines.push(String.fromCharCode(...line) + '\n'); line = []; continue; }
    line.push(c);
  }
  return { lines, signals };
}

describe('canonical mode', () => {
  it('matches the editing model for random keystrokes', () => {
    const key = fc.oneof(fc.integer({ min: 0x61, max: 0x7a }), fc.constantFrom(0x20, 10, 13, 0x7f, 0x15, 4, 3));
    fc.assert(fc.property(fc.array(key, { maxLength: 80 }), (keys) => {
      const ld = new LineDiscipline();
      const sigs: number[] = [];
      for (const k of keys) sigs.push(...ld.input(Uint8Array.of(k)).signals);
      const m = model(keys);
      expect(drain(ld)).toEqual(m.lines);
      expect(sigs).toEqual(m.signals);
    }), { numRuns: 300 });
  });

  it('echoes typed text, erases with backspace-space-backspace, shows ^C', () => {
    const ld = new LineDiscipline();
    const e1 = ld.input(bytes('ab\x7fc\r'));
    expect(dec.decode(Uint8Array.from(e1.echo))).toBe('ab\b \bc\n');
    expect(drain(ld)).toEqual(['ac\n']);
    const e2 = ld.input(bytes('xy\x03'));
    expect(dec.decode(Uint8Array.from(e2.echo))).toBe('xy^C\n');
    expect(e2.signals).toEqual([SIGINT]);
    expect(ld.input(bytes('\x1a\x1c')).signals).toEqual([SIGTSTP, SIGQUIT]);
    expect(drain(ld)).toEqual([]);
  });

  it('a read takes at most one line, and a short buffer leaves the rest', () => {
    const ld = new LineDiscipline();
    ld.input(bytes('one\ntwo\n'));
    expect(dec.decode(ld.read(100) as Uint8Array)).toBe('one\n');
    expect(dec.decode(ld.read(2) as Uint8Array)).toBe('tw');
    expect(dec.decode(ld.read(100) as Uint8Array)).toBe('o\n');
    expect(ld.read(100)).toBeNull();
  });
});

describe('raw mode and output', () => {
  it('without ICANON bytes are readable at once; without ECHO nothing echoes; without ISIG ^C is data', () => {
    const ld = new LineDiscipline();
    const t = defaultTermios();
    t.lflag &= ~(ICANON | ECHO | ISIG);
    ld.setTermios(t);
    const r = ld.input(bytes('a\x03'));
    expect(r.echo).toEqual([]);
    expect(r.signals).toEqual([]);
    expect(Array.from(ld.read(10) as Uint8Array)).toEqual([0x61, 3]);
    expect(ld.read(10)).toBeNull();
    t.cc[VMIN] = 0;
    ld.setTermios(t);
    expect((ld.read(10) as Uint8Array).byteLength).toBe(0);
  });

  it('switching ICANON off makes a partial line readable; ONLCR maps output NL to CRNL; bad termios is refused', () => {
    const ld = new LineDiscipline();
    ld.input(bytes('par'));
    expect(ld.read(10)).toBeNull();
    const t = defaultTermios();
    t.lflag &= ~ICANON;
    ld.setTermios(t);
    expect(dec.decode(ld.read(10) as Uint8Array)).toBe('par');
    expect(dec.decode(ld.output(bytes('a\nb')))).toBe('a\r\nb');
    expect(parseTermios({ iflag: -1, oflag: 0, cflag: 0, lflag: 0, cc: [] })).toBeNull();
    expect(parseTermios({ iflag: 0, oflag: 0, cflag: 0, lflag: 0, cc: new Array(40).fill(0) })).toBeNull();
    expect(parseTermios(defaultTermios())).toEqual(defaultTermios());
  });

  it('hangup makes the partial line readable, then end of file', () => {
    const ld = new LineDiscipline();
    ld.input(bytes('last'));
    ld.hangup();
    expect(drain(ld)).toEqual(['last', 'EOF']);
  });
});
