// The QuickJS runner (interpreted.RUNNER_WIT, importing HOST_WIT): one component serving every
// TypeScript/JavaScript cell, each in its own instance.
// `load` evaluates a cell's glue (glue.py: the bundled cell and its converters, a script that sets
// globalThis.__asteraiExports to one function per export, JSON text in and out); `call` runs one.
// The runtime (console, TextEncoder, error reports at the cell's lines) is pre-initialized with the runner.
import { call as hostCall } from "asterai:runner/host@0.1.0";
import { __asteraiCapture, __asteraiFail, __asteraiFlagsIn, __asteraiFlagsOut, __asteraiReport } from "./asterai_runtime.js";

globalThis.__asteraiFail = __asteraiFail; // the glue's exports report through it

// What the glue's converters share (glue.py): checks of the cell's results before they become JSON text.
const show = (v) => (typeof v === "bigint" ? `${v}n` : (JSON.stringify(v) ?? String(v)));
const bad = (what, v) => {
  throw new TypeError(`expected ${what}, got ${show(v)}`);
};
globalThis.__asteraiWire = {
  fail: (message) => {
    throw new TypeError(message);
  },
  bad,
  w64: (v, kind) => (typeof v === "bigint" || Number.isInteger(v) ? String(v) : bad(`a ${kind} (a bigint such as 5n)`, v)),
  // JSON has no NaN, Infinity or -0: they cross as text (wire.py reads it back)
  float: (v) => {
    if (typeof v !== "number" || (Number.isFinite(v) && !Object.is(v, -0))) return v;
    return Object.is(v, -0) ? "-0" : String(v);
  },
  list: (v, f) => (Array.isArray(v) || ArrayBuffer.isView(v) ? Array.from(v, f) : bad("an array", v)),
  obj: (v, what) => (v !== null && typeof v === "object" ? v : bad(what, v)),
  flagsIn: __asteraiFlagsIn, // a list of names -> the cell's number
  flagsOut: (v, type, names) => __asteraiFlagsOut(v, type, names, true),
};

// What a cell's `--use` modules share (runner_uses.py): a call to another component through the kernel's
// `host.call`. Arguments go as JSON with 64-bit integers as {n: decimal} and NaN, infinities and -0 as
// {f: name}; the answer is [0, result] with bytes (strings, lists of numbers) as {b: latin-1 text}, or
// [1, error type, message] when the provider's types refuse the arguments.
const REFUSED = { TypeError, OverflowError: RangeError, ValueError: RangeError };
const bytes = (v) => {
  const out = new Uint8Array(v.b.length);
  for (let i = 0; i < out.length; i++) out[i] = v.b.charCodeAt(i);
  return out;
};
const TYPED = { u8: Uint8Array, s8: Int8Array, u16: Uint16Array, s16: Int16Array, u32: Uint32Array, s32: Int32Array,
  u64: BigUint64Array, s64: BigInt64Array, f32: Float32Array, f64: Float64Array };
globalThis.__asteraiUse = {
  call: (component, index, args) => {
    const answer = JSON.parse(hostCall(component, index, JSON.stringify(args)));
    if (answer[0]) throw new (REFUSED[answer[1]] ?? Error)(answer[2]);
    return answer[1];
  },
  // an integral number beyond 2^53 as its exact decimal (the host's range check then says what is wrong)
  w64: (v, kind) => ({ n: Number.isInteger(v) ? BigInt(v).toString() : globalThis.__asteraiWire.w64(v, kind) }),
  float: (v) => {
    if (typeof v !== "number") return v; // the host's check says what it is
    const x = globalThis.__asteraiWire.float(v);
    return typeof x === "string" ? { f: x } : x;
  },
  // UTF-8 bytes as latin-1 text -> the string (both steps native code)
  str: (v) => (typeof v === "string" ? v : decodeURIComponent(escape(v.b))),
  bytes,
  numbers: (v, elem) => Array.from(new TYPED[elem](bytes(v).buffer)),
};
let loaded = null;

function load(glue) {
  if (loaded !== null) throw "this runner instance holds a cell already (each cell gets its own instance)";
  __asteraiCapture(true);
  try {
    (0, eval)(glue); // global scope: the glue is a script (an IIFE)
  } catch (e) {
    const printed = __asteraiCapture(false);
    throw `${printed}Uncaught ${__asteraiReport("the cell's top-level code", e)}`; // load's err
  }
  loaded = globalThis.__asteraiExports || [];
  return __asteraiCapture(false);
}

function call(index, args) {
  const f = loaded === null ? undefined : loaded[index];
  if (f === undefined) __asteraiFail("call", new RangeError(`the loaded cell has no export number ${index}`));
  return f(args);
}

export const runner = { load, call };
