import { boot } from '/work/wt/pkg/src/index.ts';
import { SimHost } from '/work/wt/pkg/src/hyper/sim/index.ts';
const sim = new SimHost({ seed: 42 });
sim.addDisk('d0', 8 << 20);
const out = await sim.run(async () => {
  const k = await boot({ host: sim });
  const st = await k.sys.stat('/');
  const r = await k.shutdown();
  return [st.mode, r.clean];
}, { limitNs: 60_000_000_000n });
console.log(out, sim.hash());
