/**
 * The part of Node's test/common the fs tests use, for the node:fs harness
 * (tools/node-fs-harness): call-count checks run at exit (mustCall,
 * mustSucceed, mustNotCall, mustCallAtLeast), expectsError/expectWarning,
 * platform flags, skip, and small helpers. `require('fs')` here is whatever
 * the harness made it (node:fs or the facade).
 */
'use strict';
const assert = require('assert');
const util = require('util');

const mustCallChecks = [];
let checksArmed = false;

function runCallChecks(exitCode) {
  if (exitCode !== 0) return;
  const failed = mustCallChecks.filter((c) => ('minimum' in c ? c.actual < c.minimum : c.actual !== c.exact));
  for (const c of failed) {
    console.log(`Mismatched ${c.name} function calls. Expected ${'minimum' in c ? `at least ${c.minimum}` : `exactly ${c.exact}`}, actual ${c.actual}.`);
    console.log(c.stack.split('\n').slice(2).join('\n'));
  }
  if (failed.length > 0) process.exit(1);
}

function arm() {
  if (!checksArmed) {
    checksArmed = true;
    process.on('exit', runCallChecks);
  }
}

function noop() {}

function makeMustCall(fn, field, count) {
  arm();
  if (typeof fn === 'number') {
    count = fn;
    fn = noop;
  } else if (fn === undefined) fn = noop;
  const context = { [field]: count, actual: 0, stack: util.inspect(new Error()), name: fn.name || '<anonymous>' };
  mustCallChecks.push(context);
  const wrapped = function (...args) {
    context.actual++;
    return fn.apply(this, args);
  };
  Object.defineProperty(wrapped, 'length', { value: fn.length, writable: false, configurable: true });
  return wrapped;
}

function mustCall(fn, exact) {
  return makeMustCall(fn, 'exact', exact === undefined ? 1 : exact);
}

function mustCallAtLeast(fn, minimum) {
  return makeMustCall(fn, 'minimum', minimum === undefined ? 1 : minimum);
}

function mustSucceed(fn, exact) {
  return mustCall(function (err, ...args) {
    assert.ifError(err);
    if (typeof fn === 'function') return fn.apply(this, args);
  }, exact);
}

function mustNotCall(msg) {
  const callSite = new Error().stack.split('\n')[2];
  return function mustNotCall(...args) {
    const argsInfo = args.length > 0 ? `\ncalled with arguments: ${args.map((a) => util.inspect(a)).join(', ')}` : '';
    assert.fail(`${msg || 'function should not have been called'} at ${callSite}${argsInfo}`);
  };
}

function expectsError(validator, exact) {
  return mustCall((...args) => {
    if (args.length !== 1) assert.fail(`Expected one argument, got ${util.inspect(args)}`);
    const error = args.pop();
    assert.throws(() => { throw error; }, validator);
    return true;
  }, exact);
}

const expectedWarnings = new Map();
let warningsArmed = false;
function expectWarning(nameOrMap, expected, code) {
  if (typeof nameOrMap === 'string') nameOrMap = { [nameOrMap]: code === undefined ? [[expected]] : [[expected, code]] };
  for (const [name, list] of Object.entries(nameOrMap)) {
    let l = list;
    if (typeof l === 'string') l = [[l]];
    else if (!Array.isArray(l[0])) l = [l];
    expectedWarnings.set(name, [...(expectedWarnings.get(name) || []), ...l]);
  }
  if (!warningsArmed) {
    warningsArmed = true;
    process.on('warning', mustCall((w) => {
      const list = expectedWarnings.get(w.name);
      assert.ok(list && list.length > 0, `Unexpected ${w.name}: ${w.message}`);
      const [msg, c] = list.shift();
      assert.strictEqual(w.message, msg);
      if (c !== undefined) assert.strictEqual(w.code, c);
    }, [...expectedWarnings.values()].reduce((a, l) => a + l.length, 0)));
  }
}

function skip(msg) {
  console.log(`1..0 # Skipped: ${msg}`);
  process.exit(0);
}

function invalidArgTypeHelper(input) {
  if (input == null) return ` Received ${input}`;
  if (typeof input === 'function' && input.name) return ` Received function ${input.name}`;
  if (typeof input === 'object') {
    if (input.constructor && input.constructor.name) return ` Received an instance of ${input.constructor.name}`;
    return ` Received ${util.inspect(input, { depth: -1 })}`;
  }
  let inspected = util.inspect(input, { colors: false });
  if (inspected.length > 28) inspected = `${inspected.slice(0, 25)}...`;
  return ` Received type ${typeof input} (${inspected})`;
}

function mustNotMutateObjectDeep(original) {
  const frozen = new WeakMap();
  const handler = {
    defineProperty(t, p) { assert.fail(`Expected no side effects, got ${util.inspect(p)} defined`); },
    deleteProperty(t, p) { assert.fail(`Expected no side effects, got ${util.inspect(p)} deleted`); },
    get(t, p, r) { return wrap(Reflect.get(t, p, r)); },
    preventExtensions() { assert.fail('Expected no side effects, got extensions prevented'); },
    set(t, p) { assert.fail(`Expected no side effects, got ${util.inspect(p)} set`); },
    setPrototypeOf() { assert.fail('Expected no side effects, got set prototype'); },
  };
  function wrap(o) {
    if (o === null || typeof o !== 'object' || ArrayBuffer.isView(o) || o instanceof Date || util.types.isProxy(o)) return o;
    if (!frozen.has(o)) frozen.set(o, new Proxy(o, handler));
    return frozen.get(o);
  }
  return wrap(original);
}

function getArrayBufferViews(buf) {
  const { buffer, byteOffset, byteLength } = buf;
  const out = [];
  for (const T of [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView]) {
    const { BYTES_PER_ELEMENT = 1 } = T;
    if (byteLength % BYTES_PER_ELEMENT === 0) out.push(new T(buffer, byteOffset, byteLength / BYTES_PER_ELEMENT));
  }
  return out;
}

module.exports = {
  mustCall, mustCallAtLeast, mustSucceed, mustNotCall, expectsError, expectWarning, skip, invalidArgTypeHelper,
  mustNotMutateObjectDeep, getArrayBufferViews,
  getBufferSources: (buf) => [...getArrayBufferViews(buf), new Uint8Array(buf).buffer],
  platformTimeout: (ms) => ms,
  allowGlobals: noop,
  printSkipMessage: (msg) => console.log(`1..0 # Skipped: ${msg}`),
  skipIfDumbTerminal: noop,
  skipIfInspectorDisabled: noop,
  skipIf32Bits: noop,
  runWithInvalidFD: (fn) => {
    let fd = 2 ** 30;
    for (;;) {
      try { require('fs').fstatSync(fd); } catch { return fn(fd); }
      fd--;
    }
  },
  isWindows: false, isLinux: true, isOSX: false, isAIX: false, isSunOS: false, isFreeBSD: false, isOpenBSD: false, isIBMi: false,
  isPi: false, isMainThread: require('worker_threads').isMainThread, isDumbTerminal: false,
  canCreateSymLink: () => true, enoughTestMem: true, hasIntl: true, hasCrypto: true, hasOpenSSL3: true,
  localhostIPv4: '127.0.0.1',
  get isInsideDirWithUnusualChars() { return false; },
};
