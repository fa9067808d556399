/**
 * The safetensors format (https://huggingface.co/docs/safetensors): 8-byte little-endian
 * unsigned header length N, N bytes of JSON header
 *   { "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, ...,
 *     "__metadata__": { "<key>": "<string>" } }
 * then the raw little-endian tensor bytes, offsets relative to the end of the header. Reading
 * is strict: every byte of the data section belongs to exactly one tensor, in order, with a
 * size matching dtype and shape. Written headers are space-padded to a multiple of 8 bytes so
 * the data section is aligned.
 */
import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { CascadeError } from '../util/cascade-error.js';
import { writeFileAtomic } from '../util/write-file-atomic.js';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'I32';

const DTYPE_BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, I32: 4 };

/** Headers above this are rejected before parsing (a corrupt length must not allocate GBs). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Tensor data as stored: F32 -> Float32Array, I32 -> Int32Array, F16/BF16 -> raw Uint16Array. */
export type SafetensorsData = Float32Array | Int32Array | Uint16Array;

export interface SafetensorsEntry {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly data: SafetensorsData;
}

export interface SafetensorsFile {
  /** In file order (ascending data offsets). */
  readonly tensors: Map<string, SafetensorsEntry>;
  readonly metadata: Record<string, string>;
}

/** What can be written: F32 and I32 tensors. */
export interface SafetensorsInput {
  readonly dtype?: 'F32' | 'I32';
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
}

/** Typed arrays use host byte order; every platform Node and tfjs target is little-endian. */
function assertLittleEndian(): void {
  if (endianness() !== 'LE')
    throw new CascadeError('INTERNAL', 'safetensors I/O needs a little-endian host.');
}

/** Serialises tensors (in the given order) and string metadata to safetensors bytes. */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, SafetensorsInput> | Readonly<Record<string, SafetensorsInput>>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  assertLittleEndian();
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = { ...metadata };
  let offset = 0;
  for (const [name, tensor] of entries) {
    if (name === '__metadata__' || name.length === 0) {
      throw new CascadeError('BAD_ARGUMENT', `"${name}" cannot be a tensor name in a safetensors file.`, {
        path: name,
      });
    }
    const dtype = tensor.dtype ?? (tensor.data instanceof Int32Array ? 'I32' : 'F32');
    const fits = dtype === 'I32' ? tensor.data instanceof Int32Array : tensor.data instanceof Float32Array;
    if (!fits || product(tensor.shape) !== tensor.data.length || !tensor.shape.every(isDim)) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        `Tensor "${name}": ${tensor.data.constructor.name} of ${tensor.data.length} values does not match dtype ${dtype} and shape [${tensor.shape.join(', ')}].`,
        { path: name },
      );
    }
    const end = offset + tensor.data.byteLength;
    header[name] = { dtype, shape: [...tensor.shape], data_offsets: [offset, end] };
    offset = end;
  }
  let json = JSON.stringify(header);
  const raw = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - (raw % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const [, tensor] of entries) {
    out.set(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength), at);
    at += tensor.data.byteLength;
  }
  return out;
}

/** Parses and validates safetensors bytes; INVALID_WEIGHTS (naming `path`) on any defect. */
export function decodeSafetensors(bytes: Uint8Array, path = '<bytes>'): SafetensorsFile {
  assertLittleEndian();
  const fail = (what: string): never => {
    throw new CascadeError('INVALID_WEIGHTS', `${path} is not a valid safetensors file: ${what}.`, { path });
  };
  if (bytes.length < 8) fail(`it has ${bytes.length} bytes, fewer than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) {
    fail(
      `the header length ${headerLength} exceeds the file (${bytes.length} bytes) or the ${MAX_HEADER_BYTES}-byte limit`,
    );
  }
  const dataStart = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (error) {
    fail(`the header is not UTF-8 JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    fail('the header is not a JSON object');

  const metadata: Record<string, string> = {};
  const records: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] =
    [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        fail('__metadata__ is not an object');
      for (const [key, text] of Object.entries(value as Record<string, unknown>)) {
        if (typeof text !== 'string') fail(`__metadata__.${key} is not a string`);
        metadata[key] = text as string;
      }
      continue;
    }
    if (typeof value !== 'object' || value === null) fail(`entry "${name}" is not an object`);
    const entry = value as Record<string, unknown>;
    const dtype = entry.dtype;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
      fail(
        `tensor "${name}" has dtype ${JSON.stringify(dtype)}, supported: ${Object.keys(DTYPE_BYTES).join(', ')}`,
      );
    }
    const shape = entry.shape;
    if (!Array.isArray(shape) || !shape.every(isDim))
      fail(`tensor "${name}" has shape ${JSON.stringify(shape)}`);
    const offsets = entry.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isDim)) {
      fail(`tensor "${name}" has data_offsets ${JSON.stringify(offsets)}, expected [begin, end]`);
    }
    const [begin, end] = offsets as [number, number];
    const d = dtype as SafetensorsDtype;
    const expected = product(shape as number[]) * DTYPE_BYTES[d];
    if (end < begin || end - begin !== expected) {
      fail(
        `tensor "${name}" spans bytes ${begin}..${end} but ${d} [${(shape as number[]).join(', ')}] needs ${expected}`,
      );
    }
    records.push({ name, dtype: d, shape: shape as number[], begin, end });
  }

  records.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataLength = bytes.length - dataStart;
  let cursor = 0;
  for (const r of records) {
    if (r.begin !== cursor) {
      fail(
        r.begin < cursor
          ? `tensor "${r.name}" overlaps the previous tensor (starts at ${r.begin}, previous ends at ${cursor})`
          : `bytes ${cursor}..${r.begin} before tensor "${r.name}" belong to no tensor`,
      );
    }
    cursor = r.end;
  }
  if (cursor !== dataLength) {
    fail(
      cursor > dataLength
        ? `tensors need ${cursor} data bytes but the file has ${dataLength} (truncated?)`
        : `${dataLength - cursor} trailing data bytes belong to no tensor`,
    );
  }

  const tensors = new Map<string, SafetensorsEntry>();
  for (const r of records) {
    // Copy into a fresh, aligned buffer: the source offset may not be aligned, and callers
    // may keep the arrays after the file buffer is gone.
    // (Uint8Array's slice copies; a Node Buffer's slice would be a view of the whole file.)
    const copy = Uint8Array.prototype.slice.call(bytes, dataStart + r.begin, dataStart + r.end).buffer;
    const data =
      r.dtype === 'F32'
        ? new Float32Array(copy)
        : r.dtype === 'I32'
          ? new Int32Array(copy)
          : new Uint16Array(copy);
    tensors.set(r.name, { dtype: r.dtype, shape: r.shape, data });
  }
  return { tensors, metadata };
}

/** F32, F16 and BF16 entries as float32 values (I32 is converted exactly when |v| < 2^24). */
export function toFloat32(entry: SafetensorsEntry): Float32Array {
  const { dtype, data } = entry;
  if (dtype === 'F32') return data as Float32Array;
  const out = new Float32Array(data.length);
  if (dtype === 'I32') {
    out.set(data as Int32Array);
  } else if (dtype === 'BF16') {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < data.length; i++) bits[i] = data[i]! << 16;
  } else {
    for (let i = 0; i < data.length; i++) out[i] = halfToFloat(data[i]!);
  }
  return out;
}

export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new CascadeError('FILE_NOT_FOUND', `Weights file ${path} does not exist.`, {
        path,
        cause: error,
      });
    }
    throw new CascadeError(
      'INVALID_WEIGHTS',
      `Weights file ${path} cannot be read (${code ?? String(error)}).`,
      {
        path,
        cause: error,
      },
    );
  }
  return decodeSafetensors(bytes, path);
}

/** Writes atomically (temp file + rename): readers never see a half-written file. */
export async function writeSafetensors(
  path: string,
  tensors: ReadonlyMap<string, SafetensorsInput> | Readonly<Record<string, SafetensorsInput>>,
  metadata: Readonly<Record<string, string>> = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

function isDim(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** IEEE 754 binary16 bits -> number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
