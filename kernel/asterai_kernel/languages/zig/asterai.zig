//! asterai: what a Zig cell may use (`const asterai = @import("asterai");`), and the helpers of the glue the
//! kernel generates for it (`abi`).
//!
//!   asterai.allocator     memory for what a function returns: everything allocated with it during a call
//!                         is freed at once after the host has copied the call's result (an arena). Keep
//!                         state across calls with another allocator (std.heap.wasm_allocator).
//!   asterai.io            an std.Io for files and stdout
//!   asterai.path(p)       where a path of a granted directory (--allow-read/--allow-write) is, for std.Io.Dir:
//!                           const at = try asterai.path("/data/notes.txt");
//!                           const text = try at.dir.readFileAlloc(asterai.io, at.sub_path, asterai.allocator, .unlimited);
//!   asterai.print         formatted output to stdout (std.debug.print writes to stderr)
//!   asterai.Result(T, E)  WIT result<T, E> as a tagged union (.ok / .err); a function's `!T` is
//!                         result<T, string> carrying the error's name
//!   asterai.Bytes         WIT list<u8> ([]const u8 is a WIT string)
//!
//! Strings and lists a function receives, and those a `--use` import returns, live in the same arena: they
//! are valid until the cell's current call returns; copy what you keep.
const std = @import("std");

var call_arena = std.heap.ArenaAllocator.init(std.heap.wasm_allocator);

pub const allocator: std.mem.Allocator = call_arena.allocator();
pub const io: std.Io = std.Io.Threaded.global_single_threaded.io();
pub const Bytes = []const u8;

pub fn Result(comptime T: type, comptime E: type) type {
    return union(enum) { ok: T, err: E };
}

/// A granted directory and a path inside it.
pub const Path = struct { dir: std.Io.Dir, sub_path: []const u8 };

/// The granted directory holding absolute path `p` (the longest match) and `p` inside it, as wasi-libc
/// resolves paths; error.NotGranted when no grant covers it (the sandbox refuses). A relative path is inside
/// the first granted directory, as std.Io.Dir.cwd() takes it.
pub fn path(p: []const u8) error{NotGranted}!Path {
    const grants = preopens() orelse return error.NotGranted;
    if (grants.map.count() <= 3) return error.NotGranted; // stdin, stdout, stderr: no directory granted
    if (!std.fs.path.isAbsolute(p)) return .{ .dir = std.Io.Dir.cwd(), .sub_path = p };
    var best: ?Path = null;
    var best_len: usize = 0;
    for (grants.map.keys()[3..], 3..) |name, fd| {
        const root = std.mem.trimEnd(u8, name, "/");
        if (!std.mem.startsWith(u8, p, root) or (p.len > root.len and p[root.len] != '/')) continue;
        if (best != null and root.len < best_len) continue;
        const rest = std.mem.trimStart(u8, p[root.len..], "/");
        best = .{ .dir = .{ .handle = @intCast(fd) }, .sub_path = if (rest.len == 0) "." else rest };
        best_len = root.len;
    }
    return best orelse error.NotGranted;
}

var preopen_list: ?std.process.Preopens = null;

fn preopens() ?*const std.process.Preopens {
    if (preopen_list == null) preopen_list = std.process.Preopens.init(std.heap.wasm_allocator) catch return null;
    return &preopen_list.?;
}

/// Formatted output to stdout, written with plain WASI calls (like the panic handler): std.Io's file
/// writer would add half a second to the build of every cell that prints.
pub fn print(comptime fmt: []const u8, args: anytype) void {
    var buffer: [1024]u8 = undefined;
    var out: std.Io.Writer = .{ .vtable = &.{ .drain = drainStdout }, .buffer = &buffer };
    out.print(fmt, args) catch return;
    out.flush() catch return;
}

fn drainStdout(w: *std.Io.Writer, data: []const []const u8, splat: usize) std.Io.Writer.Error!usize {
    abi.writeAll(1, w.buffered());
    w.end = 0;
    for (data[0 .. data.len - 1]) |bytes| abi.writeAll(1, bytes);
    for (0..splat) |_| abi.writeAll(1, data[data.len - 1]);
    var n = data[data.len - 1].len * splat;
    for (data[0 .. data.len - 1]) |bytes| n += bytes.len;
    return n;
}

/// The canonical ABI's leaves, for the generated glue: addresses are usize, core values i32/i64/f32/f64.
pub const abi = struct {
    /// Memory the host asks for while it passes arguments in or results of `--use` imports back: the call's
    /// arena, released by `reset` once the host has read the call's result (every export's post-return).
    /// Aligned to 8 at least, so that a bulk twin's block (bulkIn) is decoded in place for any number type.
    pub fn realloc(old: i32, old_size: i32, alignment: i32, new_size: i32) callconv(.c) i32 {
        return rawRealloc(allocator, old, old_size, @max(alignment, 8), new_size);
    }

    /// The WASI adapter's own state: allocated once, kept for the instance's life (never in the arena).
    pub fn reallocAdapter(old: i32, old_size: i32, alignment: i32, new_size: i32) callconv(.c) i32 {
        return rawRealloc(std.heap.wasm_allocator, old, old_size, alignment, new_size);
    }

    fn rawRealloc(a: std.mem.Allocator, old: i32, old_size: i32, alignment: i32, new_size: i32) i32 {
        if (new_size == 0) return alignment;
        const n = addr(new_size);
        const align_: std.mem.Alignment = .fromByteUnits(addr(alignment));
        const p = a.rawAlloc(n, align_, @returnAddress()) orelse @trap(); // no WASI call allowed here
        if (old != 0 and old_size != 0) {
            const src: [*]const u8 = @ptrFromInt(addr(old));
            @memcpy(p[0..@min(n, addr(old_size))], src);
        }
        return core(@intFromPtr(p));
    }

    pub fn reset() void {
        _ = call_arena.reset(.{ .retain_with_limit = 1 << 20 });
    }

    pub inline fn addr(p: i32) usize {
        return @as(u32, @bitCast(p));
    }

    pub inline fn core(a: usize) i32 {
        return @bitCast(@as(u32, @intCast(a)));
    }

    pub inline fn load(comptime T: type, a: usize) T {
        return @as(*const T, @ptrFromInt(a)).*;
    }

    pub inline fn store(comptime T: type, a: usize, v: T) void {
        @as(*T, @ptrFromInt(a)).* = v;
    }

    pub fn string(p: i32, n: i32) []const u8 {
        return slice(u8, p, n);
    }

    /// A list the host wrote whose elements have Zig's layout already: used in place.
    pub fn slice(comptime T: type, p: i32, n: i32) []T {
        if (n == 0) return @as([*]T, @ptrFromInt(@alignOf(T)))[0..0];
        return @as([*]T, @ptrFromInt(addr(p)))[0..addr(n)];
    }

    pub fn alloc(comptime T: type, n: usize) []T {
        return allocator.alloc(T, n) catch @panic("out of memory");
    }

    pub fn allocBytes(size: usize, alignment: usize) usize {
        if (size == 0) return alignment;
        const p = allocator.rawAlloc(size, .fromByteUnits(alignment), @returnAddress()) orelse
            @panic("out of memory");
        return @intFromPtr(p);
    }

    pub fn ptr(s: anytype) i32 {
        return if (s.len == 0) 0 else core(@intFromPtr(s.ptr));
    }

    pub fn len(s: anytype) i32 {
        return core(s.len);
    }

    /// Bulk twins (the host's values.BulkCodec): a numeric list crosses as one ASCII string, its n bytes with
    /// the top bit cleared, then one character 0x40 | (4 top bits) per 4 bytes. Both ways work 8 bytes at a
    /// time in 64-bit words: a multiply spreads or gathers the 8 top bits. In: decoded in place (byte i
    /// reads only byte i and a character after the data), in the arena.
    pub fn bulkIn(comptime T: type, p: i32, n: i32) []T {
        const count = addr(n) * 4 / 5;
        if (count == 0) return slice(T, 0, 0);
        const data: [*]u8 = @ptrFromInt(addr(p));
        const tops = data + count;
        const whole = count / 8;
        for (0..whole) |g| {
            // the group's 2 characters' 4 bits at bits 0-3 and 32-35, spread to bit 7 of each byte
            const t = @as(u64, tops[2 * g] & 0xF) | @as(u64, tops[2 * g + 1] & 0xF) << 32;
            const word: *align(1) u64 = @ptrCast(data + 8 * g);
            word.* |= (t *% 0x10204080) & 0x8080808080808080;
        }
        for (8 * whole..count) |i| data[i] |= (tops[i / 4] >> @as(u3, @intCast(i % 4)) & 1) << 7;
        return slice(T, p, core(count / @sizeOf(T)));
    }

    /// Out: the block of a slice of numbers, in the arena, as (pointer, length).
    pub fn bulkOut(s: anytype) [2]i32 {
        const bytes = std.mem.sliceAsBytes(s);
        const n = bytes.len;
        if (n == 0) return .{ 0, 0 };
        const out = alloc(u8, n + (n + 3) / 4);
        const src, const dst, const tops = .{ bytes.ptr, out.ptr, out[n..] };
        const whole = n / 8;
        for (0..whole) |g| {
            const x = @as(*align(1) const u64, @ptrCast(src + 8 * g)).*;
            @as(*align(1) u64, @ptrCast(dst + 8 * g)).* = x & 0x7F7F7F7F7F7F7F7F;
            const bits = ((x & 0x8080808080808080) *% 0x0002040810204081) >> 56; // bit k: byte k's top bit
            const two: u16 = @intCast(0x4040 | (bits & 0xF) | (bits & 0xF0) << 4);
            @as(*align(1) u16, @ptrCast(dst + n + 2 * g)).* = two;
        }
        @memset(tops[2 * whole ..], 0x40);
        for (8 * whole..n) |i| {
            out[i] = bytes[i] & 0x7F;
            tops[i / 4] |= (bytes[i] >> 7) << @as(u3, @intCast(i % 4));
        }
        return .{ core(@intFromPtr(out.ptr)), core(out.len) };
    }

    /// A WIT string must be UTF-8: invalid bytes become U+FFFD rather than a trap in the host.
    pub fn text(s: []const u8) []const u8 {
        if (std.unicode.utf8ValidateSlice(s)) return s;
        var out: std.ArrayList(u8) = .empty;
        var rest = s;
        while (rest.len > 0) {
            const n = std.unicode.utf8ByteSequenceLength(rest[0]) catch 1;
            const ok = n <= rest.len and std.unicode.utf8ValidateSlice(rest[0..n]);
            out.appendSlice(allocator, if (ok) rest[0..n] else "\u{FFFD}") catch @panic("out of memory");
            rest = rest[if (ok) n else 1..];
        }
        return out.items;
    }

    pub inline fn b2i(b: bool) i32 {
        return @intFromBool(b);
    }

    /// Every panic (`@panic`, `unreachable`, a failed safety check): its message where the kernel reads it
    /// (stderr), then a trap, which restarts the component. Written with plain WASI calls rather than
    /// std.debug.print, whose std.Io machinery would triple the build time of every cell.
    pub fn panicked(msg: []const u8, _: ?usize) noreturn {
        for ([_][]const u8{ "\npanicked: ", msg, "\n" }) |part| writeAll(2, part);
        @trap();
    }

    pub fn writeAll(fd: std.os.wasi.fd_t, bytes: []const u8) void {
        var rest = bytes;
        while (rest.len > 0) { // the WASI adapter writes one buffer, maybe part of it, per call
            const buffer = [_]std.os.wasi.ciovec_t{.{ .base = rest.ptr, .len = rest.len }};
            var written: usize = 0;
            if (std.os.wasi.fd_write(fd, &buffer, 1, &written) != .SUCCESS or written == 0) return;
            rest = rest[written..];
        }
    }
};
