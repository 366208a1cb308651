/**
 * Permissions for non-root host users on a FUSE mount of the kernel's tmpfs.
 * Run twice: with `-o default_permissions,allow_other` (the host kernel checks mode bits, and the
 * kernel checks again) and with `-o allow_other` alone (only the anykernel kernel's checks stand
 * between the caller and the file: this proves requests run with the caller's credentials).
 * Host processes run as uid/gid 1000 (and 1001) through spawn's uid/gid options.
 * Needs root and /dev/fuse (skipped otherwise; a failure under CI=true).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireFuse, run, startMount, type Mounted } from './mount.ts';

const enabled = requireFuse('FUSE permission tests');

/** Run a shell snippet as uid:gid; resolves with exit code and stderr. */
function as(uid: number, gid: number, script: string) {
  return run('sh', ['-c', script], { uid, gid, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/' } });
}

for (const options of [['default_permissions', 'allow_other'], ['allow_other']]) {
  describe.runIf(enabled)(`non-root users on a FUSE mount (-o ${options.join(',')})`, () => {
    let m: Mounted;
    let d: string;
    beforeAll(async () => {
      m = await startMount({ options });
      d = m.dir;
      // As root, through the mount: a secret file, a root-only directory, a sticky shared directory.
      fs.writeFileSync(path.join(d, 'secret'), 'root only\n', { mode: 0o600 });
      fs.chmodSync(path.join(d, 'secret'), 0o600);
      fs.mkdirSync(path.join(d, 'rootdir'), { mode: 0o755 });
      fs.mkdirSync(path.join(d, 'common'));
      fs.chmodSync(path.join(d, 'common'), 0o1777);
      fs.mkdirSync(path.join(d, 'home1000'));
      fs.chownSync(path.join(d, 'home1000'), 1000, 1000);
      fs.chmodSync(d, 0o755);
    }, 90_000);
    afterAll(async () => {
      if (m !== undefined) expect(await m.stop(), m.output()).toBe(0);
    }, 60_000);

    it('a uid-1000 process creates files it owns', async () => {
      const r = await as(1000, 1000, `umask 022 && echo mine > ${d}/home1000/f && mkdir ${d}/home1000/sub && ln -s f ${d}/home1000/l && cat ${d}/home1000/f`);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('mine\n');
      for (const n of ['f', 'sub', 'l']) {
        const st = fs.lstatSync(path.join(d, 'home1000', n));
        expect([n, st.uid, st.gid]).toEqual([n, 1000, 1000]);
      }
      expect(fs.statSync(path.join(d, 'home1000/f')).mode & 0o777).toBe(0o644);
      expect(fs.statSync(path.join(d, 'home1000/sub')).mode & 0o777).toBe(0o755);
    });

    it('cannot read a root-owned 0600 file', async () => {
      const r = await as(1000, 1000, `cat ${d}/secret`);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/Permission denied/);
      const w = await as(1000, 1000, `echo x >> ${d}/secret`);
      expect(w.stderr).toMatch(/Permission denied/);
      expect(fs.readFileSync(path.join(d, 'secret'), 'utf8')).toBe('root only\n');
    });

    it('cannot create, remove or rename in a root 0755 directory', async () => {
      fs.writeFileSync(path.join(d, 'rootdir/keep'), 'k');
      for (const cmd of [`touch ${d}/rootdir/new`, `mkdir ${d}/rootdir/sub`, `rm -f ${d}/rootdir/keep`, `mv ${d}/rootdir/keep ${d}/rootdir/k2`, `ln -s x ${d}/rootdir/sl`]) {
        const r = await as(1000, 1000, cmd);
        expect([cmd, r.code !== 0, /Permission denied/.test(r.stderr)]).toEqual([cmd, true, true]);
      }
      expect(fs.readdirSync(path.join(d, 'rootdir'))).toEqual(['keep']);
      // Reading and listing it is fine.
      const ls = await as(1000, 1000, `ls ${d}/rootdir && cat ${d}/rootdir/keep`);
      expect(ls.stdout).toBe('keep\nk');
    });

    it('cannot chmod or chown what it does not own; chmod of its own file works', async () => {
      fs.writeFileSync(path.join(d, 'common/rootfile'), 'r');
      const c1 = await as(1000, 1000, `chmod 777 ${d}/common/rootfile`);
      expect(c1.stderr).toMatch(/Operation not permitted/);
      const c2 = await as(1000, 1000, `touch ${d}/common/own && chmod 600 ${d}/common/own && chown 1001 ${d}/common/own`);
      expect(c2.stderr).toMatch(/Operation not permitted/);
      expect(fs.statSync(path.join(d, 'common/own')).mode & 0o777).toBe(0o600);
      expect(fs.statSync(path.join(d, 'common/own')).uid).toBe(1000);
    });

    it('sticky directory: only the owner (or the directory owner, or root) removes or renames', async () => {
      const made = await as(1000, 1000, `echo a > ${d}/common/by1000`);
      expect(made.code, made.stderr).toBe(0);
      const rm = await as(1001, 1001, `rm -f ${d}/common/by1000`);
      expect(rm.stderr).toMatch(/Operation not permitted/);
      const mv = await as(1001, 1001, `mv ${d}/common/by1000 ${d}/common/stolen`);
      expect(mv.stderr).toMatch(/Operation not permitted/);
      // ...but 1001 may create its own file there and remove it.
      const own = await as(1001, 1001, `echo b > ${d}/common/by1001 && rm ${d}/common/by1001`);
      expect(own.code, own.stderr).toBe(0);
      const mine = await as(1000, 1000, `rm ${d}/common/by1000`);
      expect(mine.code, mine.stderr).toBe(0);
      expect(fs.existsSync(path.join(d, 'common/by1000'))).toBe(false);
    });

    it('a directory the user may no longer search hides its files at once, though they were just looked up', async () => {
      // With the default timeouts. Without default_permissions the server's LOOKUP is the only
      // search-permission check, so a name the host still caches must not skip it.
      fs.mkdirSync(path.join(d, 'hid'), { mode: 0o755 });
      fs.chmodSync(path.join(d, 'hid'), 0o755);
      fs.writeFileSync(path.join(d, 'hid/f'), 'visible\n');
      fs.chmodSync(path.join(d, 'hid/f'), 0o644);
      const before = await as(1000, 1000, `cat ${d}/hid/f`);
      expect(before.stdout, before.stderr).toBe('visible\n');
      fs.chmodSync(path.join(d, 'hid'), 0o700);
      const after = await as(1000, 1000, `cat ${d}/hid/f; stat -c %a ${d}/hid/f`);
      expect(after.stdout).toBe('');
      expect(after.stderr).toMatch(/Permission denied/);
    });

    it('supplementary groups count: group-readable file, reader in the group only as a supplementary group', async () => {
      fs.writeFileSync(path.join(d, 'grp'), 'group data\n');
      fs.chownSync(path.join(d, 'grp'), 0, 2000);
      fs.chmodSync(path.join(d, 'grp'), 0o640);
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
      // setpriv/perl set supplementary groups; node's spawn cannot, so use perl's $) assignment.
      const withGroup = await run('perl', ['-e', `$( = 1000; $) = "1000 1000 2000"; $< = $> = 1000; open(F, "<", "${d}/grp") or die "open: $!\\n"; print <F>;`], { env });
      expect(withGroup.stdout, withGroup.stderr).toBe('group data\n');
      const without = await run('perl', ['-e', `$( = 1000; $) = "1000 1000"; $< = $> = 1000; open(F, "<", "${d}/grp") or die "open: $!\\n"; print <F>;`], { env });
      expect(without.stderr).toMatch(/Permission denied/);
    });
  });
}
