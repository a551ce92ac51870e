// What every JavaScript/TypeScript cell's component carries besides the cell (bundled first, so the cell
// sees it): `console` writing to WASI stdout/stderr (the QuickJS engine has none; StarlingMonkey's is
// replaced so both print alike), UTF-8 TextEncoder/TextDecoder where missing, and `__asteraiFail`, which
// reports an uncaught error at the cell's lines and ends the call with a trap. The QuickJS runner
// (runner/runner.js) shares it: `__asteraiCapture` keeps what a cell's top-level code prints, and the code
// the runner loads shows in stacks as `<input>`, with its own line table (glue.py).
import { getStdout } from "wasi:cli/stdout@0.2.12";
import { getStderr } from "wasi:cli/stderr@0.2.12";
import { exit } from "wasi:cli/exit@0.2.12";

function utf8(text) {
  const out = [];
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c < 0xe000) c = 0xfffd; // a lone surrogate
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return new Uint8Array(out);
}

function fromUtf8(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    let c, n;
    if (b < 0x80) (c = b), (n = 1);
    else if (b >= 0xf0) (c = b & 7), (n = 4);
    else if (b >= 0xe0) (c = b & 15), (n = 3);
    else if (b >= 0xc0) (c = b & 31), (n = 2);
    else (c = 0xfffd), (n = 1);
    for (let k = 1; k < n; k++) c = (c << 6) | (bytes[i + k] & 63);
    s += String.fromCodePoint(n > 1 && (i + n > bytes.length || c > 0x10ffff) ? 0xfffd : c);
    i += n;
  }
  return s;
}

if (typeof globalThis.TextEncoder === "undefined") {
  globalThis.TextEncoder = class TextEncoder {
    get encoding() {
      return "utf-8";
    }
    encode(text = "") {
      return utf8(String(text));
    }
  };
}
if (typeof globalThis.TextDecoder === "undefined") {
  globalThis.TextDecoder = class TextDecoder {
    get encoding() {
      return "utf-8";
    }
    decode(bytes = new Uint8Array(0)) {
      return fromUtf8(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes.buffer || bytes));
    }
  };
}

function write(open, text) {
  const bytes = utf8(text);
  const stream = open(); // opened per write: a handle taken while the component was built is not valid later
  try {
    for (let i = 0; i < bytes.length; i += 4096) stream.blockingWriteAndFlush(bytes.subarray(i, i + 4096));
  } finally {
    if (typeof stream[Symbol.dispose] === "function") stream[Symbol.dispose]();
  }
}

function inspect(value, depth = 0, seen = []) {
  switch (typeof value) {
    case "string":
      return depth === 0 ? value : JSON.stringify(value);
    case "bigint":
      return `${value}n`;
    case "undefined":
      return "undefined";
    case "function":
      return `[Function: ${value.name || "(anonymous)"}]`;
    case "symbol":
      return value.toString();
    case "object":
      break;
    default:
      return String(value);
  }
  if (value === null) return "null";
  if (value instanceof Error) return value.stack ? `${value.name}: ${value.message}\n${value.stack}` : String(value);
  if (seen.includes(value)) return "[Circular]";
  if (depth > 4) return Array.isArray(value) ? "[Array]" : "[Object]";
  const inner = [...seen, value];
  if (ArrayBuffer.isView(value)) {
    const items = Array.from(value.length > 100 ? value.subarray(0, 100) : value, (x) => inspect(x, 1));
    if (value.length > 100) items.push(`... ${value.length - 100} more`);
    return `${value.constructor.name}(${value.length}) [${items.length ? ` ${items.join(", ")} ` : ""}]`;
  }
  if (Array.isArray(value)) {
    const items = value.slice(0, 100).map((x) => inspect(x, depth + 1, inner));
    if (value.length > 100) items.push(`... ${value.length - 100} more items`);
    return items.length ? `[ ${items.join(", ")} ]` : "[]";
  }
  if (value instanceof Map) {
    const items = [...value].map(([k, v]) => `${inspect(k, depth + 1, inner)} => ${inspect(v, depth + 1, inner)}`);
    return `Map(${value.size}) {${items.length ? ` ${items.join(", ")} ` : ""}}`;
  }
  if (value instanceof Set) {
    const items = [...value].map((x) => inspect(x, depth + 1, inner));
    return `Set(${value.size}) {${items.length ? ` ${items.join(", ")} ` : ""}}`;
  }
  const keys = Object.keys(value);
  const items = keys.map((k) => {
    const key = /^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k);
    return `${key}: ${inspect(value[k], depth + 1, inner)}`;
  });
  return items.length ? `{ ${items.join(", ")} }` : "{}";
}

function format(args) {
  let rest = args;
  let head = "";
  if (typeof args[0] === "string" && /%[sdifjoO%]/.test(args[0])) {
    let i = 1;
    head = args[0].replace(/%([sdifjoO%])/g, (m, f) => {
      if (f === "%") return "%";
      if (i >= args.length) return m;
      const a = args[i++];
      if (f === "s") return typeof a === "string" ? a : inspect(a, 1);
      if (f === "d" || f === "i") return typeof a === "bigint" ? `${a}n` : String(f === "i" ? Math.trunc(Number(a)) : Number(a));
      if (f === "f") return String(Number(a));
      return inspect(a, 1);
    });
    rest = args.slice(i);
    return [head, ...rest.map((a) => inspect(a))].join(" ");
  }
  return rest.map((a) => inspect(a)).join(" ");
}

let captured = null; // what the console printed while the runner loads a cell, or null: print it

/** Start keeping what the console prints (on), or stop and return what it kept. */
export function __asteraiCapture(on) {
  const text = captured === null ? "" : captured.join("");
  captured = on ? [] : null;
  return text;
}

// While a cell loads, both streams are kept, in order: what its top-level code printed, shown once.
const printer = (open) => (...args) => {
  const text = format(args) + "\n";
  if (captured === null) write(open, text);
  else captured.push(text);
};
const out = printer(getStdout);
const err = printer(getStderr);
globalThis.console = { log: out, info: out, debug: out, warn: err, error: err, trace: err };

// ---- uncaught errors ----
function cellFrame(line) {
  // QuickJS: "    at name (/dir/cell.bundle.js:12:5)", or "(<input>:12:5)" for code the runner loaded;
  // StarlingMonkey: "name@cell.bundle.js:12:5"
  const m = /^\s*(?:at\s+(?:(.*?)\s+\()?|(.*?)@)?(?:[^()]*\/)?(cell\.bundle\.js|<input>):(\d+)(?::\d+)?\)?\s*$/.exec(line);
  if (!m) return null;
  const name = m[1] || m[2] || "<top level>";
  const loaded = m[3] === "<input>";
  const lines = (loaded ? globalThis.__asterai_glue_lines : globalThis.__asterai_lines) || [];
  const sources = (loaded ? globalThis.__asterai_glue_sources : globalThis.__asterai_sources) || [];
  const hit = lines[Number(m[4]) - 1];
  if (!hit) return { glue: true };
  const source = sources[hit[0]] || "";
  if (GLUE.includes(source) || source.startsWith("uses/")) return { glue: true };
  const cell = /^cell\.(ts|js)$/.test(source);
  return { name, at: cell ? `line ${hit[1]}` : `${source}:${hit[1]}` };
}
const GLUE = ["entry.js", "asterai_runtime.js", "runner.js"];

/** An uncaught error as reported: its message, then the stack at the cell's lines (the glue's left out). */
export function __asteraiReport(fn, error) {
  let head;
  let stack = "";
  if (error instanceof Error) {
    head = `${error.name}: ${error.message}`;
    stack = String(error.stack || "");
  } else {
    head = `${inspect(error, 1)} (thrown by ${fn}; throw an Error to get its line)`;
  }
  const frames = [];
  for (const line of stack.split("\n")) {
    const f = cellFrame(line);
    if (f && !f.glue && !/^__asterai/.test(f.name)) frames.push(`    at ${f.name} (${f.at})`);
  }
  return `${head}\n${frames.join("\n")}${frames.length ? "\n" : ""}`;
}

export function __asteraiFail(fn, error) {
  write(getStderr, `Uncaught ${__asteraiReport(fn, error)}`);
  exit({ tag: "err", val: undefined }); // a trap: the host restarts this component
  throw error; // not reached
}

// QuickJS hands 64-bit integers over as doubles (a u64 at or above 2^63 as a negative one): the cell gets
// them as bigint when they crossed exactly, and an error instead of a wrong number when they could not.
const WIDE_LIMIT = "crosses into and out of a QuickJS component exactly only between -(2^53 - 1) and 2^53 - 1";

export function __asteraiWideIn(v, unsigned) {
  if (typeof v === "bigint") return unsigned ? BigInt.asUintN(64, v) : BigInt.asIntN(64, v);
  if (!Number.isSafeInteger(v) || (unsigned && v < 0)) {
    throw new RangeError(`a ${unsigned ? "u64" : "s64"} argument was too large: a 64-bit integer ${WIDE_LIMIT}`);
  }
  return BigInt(v);
}

export function __asteraiWideOut(v, unsigned, starlingmonkey = false) {
  const kind = unsigned ? "u64" : "s64";
  if (starlingmonkey) {
    const b = typeof v === "bigint" ? v : BigInt(v);
    if (unsigned && BigInt.asUintN(64, b) !== b) throw new RangeError(`cannot return ${b}n as u64 (0..2^64 - 1)`);
    if (!unsigned && BigInt.asIntN(64, b) !== b) throw new RangeError(`cannot return ${b}n as s64 (-2^63..2^63 - 1)`);
    if (b < 0n) throw new RangeError(`cannot return ${b}n: StarlingMonkey (componentize-js 0.23) returns no negative s64`);
    return b;
  }
  if (typeof v !== "bigint" && !Number.isInteger(v)) {
    throw new TypeError(`expected a ${kind} (a bigint such as 5n), got ${inspect(v, 1)}`);
  }
  const n = Number(v);
  if (!Number.isSafeInteger(n) || (typeof v === "bigint" && BigInt(n) !== v) || (unsigned && n < 0)) {
    throw new RangeError(`cannot return ${inspect(v, 1)} as ${kind}: a 64-bit integer ${WIDE_LIMIT}`);
  }
  return n;
}

// Flags: the cell holds a number of its enum's bits (bit i: member i). The engine hands over and takes an
// object of booleans by member (`keys`, its spelling), the shared runner a list of member names.
export function __asteraiFlagsIn(v, keys) {
  let bits = 0;
  keys.forEach((k, i) => {
    if (Array.isArray(v) ? v.includes(k) : v[k]) bits |= 1 << i;
  });
  return bits;
}

export function __asteraiFlagsOut(v, type, keys, asList = false) {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) {
    throw new TypeError(`expected a ${type} (a number: its members joined with |), got ${inspect(v, 1)}`);
  }
  const bits = v >>> 0;
  const extra = keys.length >= 32 ? 0 : bits >>> keys.length;
  if (extra !== 0) {
    const bit = keys.length + 31 - Math.clz32(extra & -extra);
    throw new RangeError(`cannot return ${v} as ${type}: it has bit ${bit}, and ${type} has ${keys.length} members (bits 0..${keys.length - 1})`);
  }
  const has = (i) => (bits & (1 << i)) !== 0;
  return asList ? keys.filter((_, i) => has(i)) : Object.fromEntries(keys.map((k, i) => [k, has(i)]));
}

// An exported class (a WIT resource): the engine constructs and calls the entry module's wrapper class
// (exports.py), each wrapper holding one of the cell's objects; the cell only ever sees its own objects.
// The object -> wrapper link is weak both ways: a strong one would keep a wrapper and its object alive in a
// cycle after the engine let go of the wrapper (the handle's drop), until a cycle collection.
const cellObjects = new WeakMap(); // wrapper -> the cell's object
const wrappers = new WeakMap(); // the cell's object -> WeakRef of its wrapper

export function __asteraiAdopt(wrapper, object) {
  cellObjects.set(wrapper, object);
  wrappers.set(object, new WeakRef(wrapper));
  return wrapper;
}

/** The wrapper the engine gets for an object of the cell's class `Class` (the same one each time). */
export function __asteraiWrap(Wrapper, Class, v) {
  if (!(v instanceof Class)) throw new TypeError(`expected an object of class ${Wrapper.name}, got ${inspect(v, 1)}`);
  return wrappers.get(v)?.deref() ?? __asteraiAdopt(Object.create(Wrapper.prototype), v);
}

/** The cell's object behind a wrapper the engine passes. */
export function __asteraiUnwrap(v) {
  const object = cellObjects.get(v);
  if (object === undefined) throw new TypeError(`expected an object of an exported class, got ${inspect(v, 1)}`);
  return object;
}
