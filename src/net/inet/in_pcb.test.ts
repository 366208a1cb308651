import { describe, expect, it } from 'vitest';
import { EACCES, EADDRINUSE, EADDRNOTAVAIL, EINVAL } from '../../kern/errno.ts';
import { Kernel } from '../../kern/kernel.ts';
import { SimHost } from '../../hyper/sim/host.ts';
import { ip4 } from '../addr.ts';
import { NetStack } from '../netstack.ts';
import { newPcb, PcbTable, type InPcb } from './in_pcb.ts';

function table(): { t: PcbTable<InPcb>; ns: NetStack } {
  const ns = new NetStack(new Kernel(new SimHost({ seed: 1 })));
  return { t: new PcbTable<InPcb>(ns, 'udp'), ns };
}
const A = ip4(10, 0, 0, 1);
const B = ip4(10, 0, 0, 2);
const opts = { root: false, localOk: (a: number) => a === A };

describe('PcbTable', () => {
  it('binds, refuses duplicates, honours SO_REUSEADDR and privileged ports', () => {
    const { t } = table();
    const p1 = newPcb(1000), p2 = newPcb(1000), p3 = newPcb(1000);
    expect(t.bind(p1, 0, 5000, opts)).toBe(0);
    expect(t.bind(p1, 0, 5001, opts)).toBe(EINVAL);
    expect(t.bind(p2, A, 5000, opts)).toBe(EADDRINUSE);
    expect(t.bind(p2, B, 5002, opts)).toBe(EADDRNOTAVAIL);
    expect(t.bind(p2, A, 80, opts)).toBe(EACCES);
    expect(t.bind(p2, A, 80, { ...opts, root: true })).toBe(0);
    p1.reuseaddr = true;
    p3.reuseaddr = true;
    expect(t.bind(p3, A, 5000, opts)).toBe(0);
    p1.listening = true;
    const p4 = newPcb(1000);
    p4.reuseaddr = true;
    expect(t.bind(p4, 0, 5000, opts)).toBe(EADDRINUSE);
  });

  it('allocates distinct ephemeral ports in range and runs out cleanly', () => {
    const { t, ns } = table();
    ns.config.portLo = 40000;
    ns.config.portHi = 40009;
    const seen = new Set<number>();
    for (let i = 0; i < 10; i++) {
      const p = newPcb(0);
      expect(t.bind(p, 0, 0, opts)).toBe(0);
      expect(p.lport).toBeGreaterThanOrEqual(40000);
      expect(p.lport).toBeLessThanOrEqual(40009);
      seen.add(p.lport);
    }
    expect(seen.size).toBe(10);
    expect(t.bind(newPcb(0), 0, 0, opts)).toBe(EADDRINUSE);
  });

  it('demultiplexes exact before wildcard, specific address before any', () => {
    const { t } = table();
    const any = newPcb(0), spec = newPcb(0), conn = newPcb(0);
    any.reuseaddr = spec.reuseaddr = conn.reuseaddr = true;
    t.bind(any, 0, 7, { ...opts, root: true });
    t.bind(spec, A, 7, { ...opts, root: true });
    t.bind(conn, A, 7, { ...opts, root: true });
    expect(t.connect(conn, A, B, 9)).toBe(0);
    expect(t.lookup(A, 7, B, 9, true)).toBe(conn);
    expect(t.lookup(A, 7, B, 10, true)).toBe(spec);
    expect(t.lookup(ip4(127, 0, 0, 1), 7, B, 10, true)).toBe(any);
    expect(t.lookup(A, 7, B, 10, false)).toBeNull();
    t.remove(spec);
    expect(t.lookup(A, 7, B, 10, true)).toBe(any);
    expect(t.size).toBe(2);
  });
});
