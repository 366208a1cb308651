/**
 * Imported for its effect: makes a NodeHost the host of `boot()` without
 * `{ host }`. The node entries (`anykernel` under the `node` export
 * condition, `anykernel/node`, `anykernel/remote`) and the node-only
 * frontends that boot a kernel of their own import it; the root entry does
 * not, so a bundle for a browser never reaches node:*.
 */
import { NodeHost } from '../../hyper/node/host.ts';
import { setDefaultHost } from './boot.ts';

setDefaultHost((hints) => new NodeHost(hints?.taps ? { taps: hints.taps } : {}));
