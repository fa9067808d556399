/**
 * A minimal WebAssembly assembler: LEB128 numbers, sections, and the opcodes the project's
 * hand-written SIMD routines use (simd-kernels.ts, simd-gemm.ts). Each opcode is a byte array
 * to spread into a function body; locals are numbered as in the wasm spec (parameters first).
 */
export const I32 = 0x7f;
export const V128 = 0x7b;

export function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

export function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** `bytes` prefixed with their length (a function body, a section's contents). */
export function sized(bytes: number[]): number[] {
  return [...uleb(bytes.length), ...bytes];
}

export function section(id: number, body: number[]): number[] {
  return [id, ...sized(body)];
}

export function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

export function name(text: string): number[] {
  return [...uleb(text.length), ...[...text].map((ch) => ch.charCodeAt(0))];
}

export const get = (local: number) => [0x20, ...uleb(local)];
export const set = (local: number) => [0x21, ...uleb(local)];
export const i32 = (value: number) => [0x41, ...sleb(value)];
export const add = [0x6a];
export const mul = [0x6c];
export const geU = [0x4f];
export const f32x4Add = [0xfd, 0xe4, 0x01];
export const f32x4Splat = [0xfd, 0x13];
/** f32.load with a 4-byte alignment hint. */
export const loadF32 = [0x2a, 2, 0];
export const block = [0x02, 0x40];
export const loop = [0x03, 0x40];
export const end = [0x0b];
export const br = (depth: number) => [0x0c, ...uleb(depth)];
export const brIf = (depth: number) => [0x0d, ...uleb(depth)];
/** v128.load / v128.store with a 4-byte alignment hint (tensors are float-aligned). */
export const load = [0xfd, 0x00, 2, 0];
export const store = [0xfd, 0x0b, 2, 0];
/** i8x16.shuffle picking 32-bit lanes (0-3 from the first operand, 4-7 from the second). */
export function shuffle(lanes: [number, number, number, number]): number[] {
  return [0xfd, 0x0d, ...lanes.flatMap((lane) => [4 * lane, 4 * lane + 1, 4 * lane + 2, 4 * lane + 3])];
}
export const tee = (local: number) => [0x22, ...uleb(local)];
export const sub = [0x6b];
export const and = [0x71];
export const ltU = [0x49];
export const ifThen = [0x04, 0x40];
export const f32x4Mul = [0xfd, 0xe6, 0x01];
/** Relaxed SIMD `f32x4.relaxed_madd(a, b, c)` = a * b + c, fused (one rounding) where the CPU has FMA. */
export const f32x4RelaxedMadd = [0xfd, 0x85, 0x02];
/** v128.load32_splat: one float from memory into all four lanes (4-byte alignment hint). */
export const loadSplat = [0xfd, 0x09, 2, 0];
/** v128.const 0 (all lanes +0). */
export const zeroV128 = [0xfd, 0x0c, ...new Array<number>(16).fill(0)];
/** if with a v128 result (then/else both leave one v128 on the stack). */
export const ifV128 = [0x04, V128];
export const elseBranch = [0x05];

/**
 * `for (counter = start; counter < limit; counter += step) body` (unsigned compare; `limit` a
 * local). `start` null keeps the counter's current value.
 */
export function countedLoop(
  counter: number,
  limit: number,
  step: number,
  body: number[],
  start: number[] | null = i32(0),
): number[] {
  return [
    ...(start === null ? [] : [...start, ...set(counter)]),
    ...block,
    ...loop,
    ...get(counter),
    ...get(limit),
    ...geU,
    ...brIf(1),
    ...body,
    ...get(counter),
    ...i32(step),
    ...add,
    ...set(counter),
    ...br(0),
    ...end,
    ...end,
  ];
}
export const f32x4Sub = [0xfd, 0xe5, 0x01];
export const f32x4Div = [0xfd, 0xe7, 0x01];
export const f32x4Neg = [0xfd, 0xe1, 0x01];
export const f32x4Min = [0xfd, 0xe8, 0x01];
export const f32x4Max = [0xfd, 0xe9, 0x01];
/** f32x4.nearest: round to the nearest integer, ties to even. */
export const f32x4Nearest = [0xfd, 0x6a];
export const i32x4TruncSatF32x4S = [0xfd, 0xf8, 0x01];
export const i32x4Add = [0xfd, 0xae, 0x01];
/** i32x4.shl: a v128 and an i32 shift count from the stack. */
export const i32x4Shl = [0xfd, 0xab, 0x01];

/** v128.const with the same float32 in all four lanes. */
export function f32x4Const(value: number): number[] {
  const lane = new Uint8Array(Float32Array.of(value).buffer);
  return [0xfd, 0x0c, ...lane, ...lane, ...lane, ...lane];
}

/** v128.const with the same int32 in all four lanes. */
export function i32x4Const(value: number): number[] {
  const lane = new Uint8Array(Int32Array.of(value).buffer);
  return [0xfd, 0x0c, ...lane, ...lane, ...lane, ...lane];
}
