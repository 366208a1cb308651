/**
 * Helpers for the net unit tests (not a test file itself): kernels with the
 * net component on the deterministic sim host, several of them sharing one
 * SimWorld and one EtherBus segment. Built from kern's pieces rather than
 * the library frontend, which src/net may not import.
 */
import { expect } from 'vitest';
import { Kernel } from '../kern/kernel.ts';
import { kernComponent, type kernSyscalls } from '../kern/kern_component.ts';
import type { SysOf } from '../kern/syscall.ts';
import type { Component } from '../kern/component.ts';
import { SimHost } from '../hyper/sim/host.ts';
import { SimWorld } from '../hyper/sim/world.ts';
import { netComponent } from './net_component.ts';
import { netOf, type NetStack } from './netstack.ts';
import { busAttach, EtherBus } from './iface/if_bus.ts';
import { ifConfigure, type IfConfig } from './iface/config.ts';
import type { Ifnet } from './iface/ifnet.ts';
import type { socketSyscalls } from './socket/sys_socket.ts';

export type NetSys = SysOf<typeof kernSyscalls> & SysOf<typeof socketSyscalls>;

export interface TestHost {
  k: Kernel;
  ns: NetStack;
  sys: NetSys;
  host: SimHost;
  eth0: Ifnet | null;
}

/** A kernel with kern + net (+ extra components) on a SimHost. */
export async function netKernel(host: SimHost, extra: Component[] = []): Promise<TestHost> {
  const k = new Kernel(host);
  await k.boot([kernComponent, ...extra, netComponent]);
  return { k, ns: netOf(k), sys: k.sys as unknown as NetSys, host, eth0: null };
}

/**
 * n kernels on one EtherBus, kernel i at 10.0.0.(i+1)/24, run inside the
 * world's run() (a deadlock or runaway fails the test with the seed).
 */
export async function onBus<T>(n: number, fn: (hosts: TestHost[], bus: EtherBus, world: SimWorld) => Promise<T>, opts: { seed?: number; mtu?: number; cfg?: (i: number) => IfConfig } = {}): Promise<T> {
  const world = new SimWorld({ seed: opts.seed ?? 1, keepLog: false });
  const bus = new EtherBus({ mtu: opts.mtu ?? 1500 });
  const hosts: TestHost[] = [];
  try {
    return await world.run(async () => {
      for (let i = 0; i < n; i++) {
        const h = await netKernel(new SimHost({ world, name: `h${i}`, params: { lockdep: 'strict' } }));
        const ifp = busAttach(h.ns, 'eth0', bus);
        if (typeof ifp === 'number') throw new Error(`busAttach: ${ifp}`);
        ifConfigure(h.ns, ifp, opts.cfg?.(i) ?? { addr: `10.0.0.${i + 1}/24` });
        h.eth0 = ifp;
        hosts.push(h);
      }
      return await fn(hosts, bus, world);
    }, { limitSteps: 2_000_000 });
  } finally {
    world.dispose();
  }
}

/** The errno code a promise fails with, or 'ok'. */
export function code(p: Promise<unknown>): Promise<string> {
  return p.then(() => 'ok', (e: { code?: string }) => e.code ?? `non-errno failure: ${String(e)}`);
}

export async function expectCode(p: Promise<unknown>, want: string): Promise<void> {
  expect(await code(p)).toBe(want);
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
