/**
 * The published lock order, as data: every lock class node of the kernel,
 * outermost first (a class name, "/n" for subclass n). src/kern/README.md
 * ("The lock order") says what each guards and why it sits where it does;
 * src/vfs/lockorder.test.ts checks that the README lists exactly these, in
 * this order. lockdep (lockdep.ts) reports an acquisition that goes up this
 * list the first time it happens — before the opposite order has ever been
 * seen — with both acquisition sites. Classes not listed (tests' own, a new
 * subsystem's before it is added here) are ordered by observation only.
 *
 * A subsystem that adds a LockClass adds its node here and to the README in
 * the same change. Kern names the factions' classes only as strings; it
 * imports nothing of theirs.
 */
export const LOCK_ORDER: readonly string[] = [
  'vfs_rename',
  'vnode_dir',
  'vnode_dir/1',
  'vnode',
  'ext2',
  'buf',
];
