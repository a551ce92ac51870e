// The QuickJS runner (interpreted.RUNNER_WIT): one component serving every TypeScript/JavaScript cell, each
// in its own instance.
// `load` evaluates a cell's glue (glue.py: the bundled cell and its converters, a script that sets
// globalThis.__asteraiExports to one function per export, JSON text in and out); `call` runs one.
// The runtime (console, TextEncoder, error reports at the cell's lines) is pre-initialized with the runner.
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
