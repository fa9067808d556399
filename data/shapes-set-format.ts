import type { Scene } from './scene.js';
import type { ShapesSplit } from './shapes-sample.js';

/**
 * On-disk format of a shapes set (`*.shapes.gz`), version 1. The whole file is one gzip stream
 * (its CRC-32 and length trailer catch corruption and truncation); inside:
 *
 *   offset  size           content
 *   0       8              magic "SHAPESET" (ASCII)
 *   8       4              format version, uint32 little-endian (1)
 *   12      4              header length N in bytes, uint32 little-endian
 *   16      N              header, UTF-8 JSON (ShapesSetHeader)
 *   16+N    count * C      clips in item order, uint8 RGB, layout [frames, height, width, 3],
 *                          C = frames * height * width * 3, value = round(clamp(v, 0, 1) * 255)
 *   end-8   8              end magic "SHAPEEND"
 *
 * Prompts are stored as text and tokenised on load; scenes are stored in full, so every clip
 * can be re-rendered at any other resolution (e.g. the 4 d0 version of a d0 set).
 */
export const SHAPES_SET_MAGIC = 'SHAPESET';
export const SHAPES_SET_END = 'SHAPEEND';
export const SHAPES_SET_VERSION = 1;
export const SHAPES_SET_EXTENSION = '.shapes.gz';

export interface ShapesSetHeader {
  readonly format: 'shapes-set';
  readonly version: 1;
  readonly split: ShapesSplit;
  readonly seed: number;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly frames: number;
  readonly aspect: number;
  /** Bytes per clip: frames * height * width * 3. */
  readonly clipBytes: number;
  readonly items: readonly {
    readonly index: number;
    readonly seed: number;
    readonly prompt: string;
    readonly scene: Scene;
  }[];
}
