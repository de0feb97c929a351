// What a photo file says about itself before anything decodes it: its format, its size, its
// frame count and whether it is CMYK. The page refuses a gigantic photo by these numbers, as
// `trainer colorize` does, instead of letting the browser decode 100 megapixels first.
// PNG (and APNG), JPEG, GIF, WebP and BMP: the formats every browser decodes.

/**
 * @typedef {{format: string, width: number, height: number, frames: number, cmyk: boolean}} Header
 */

const text = (bytes, start, length) => String.fromCharCode(...bytes.subarray(start, start + length));
const u16be = (bytes, at) => (bytes[at] << 8) | bytes[at + 1];
const u16le = (bytes, at) => bytes[at] | (bytes[at + 1] << 8);
const u24le = (bytes, at) => bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16);
const u32be = (bytes, at) => ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
const u32le = (bytes, at) => (u24le(bytes, at) + bytes[at + 3] * 2 ** 24);
const i32le = (bytes, at) => u24le(bytes, at) | (bytes[at + 3] << 24);

// PNG: the size is in IHDR; an APNG's frame count is in acTL, which comes before the first IDAT.
function png(bytes) {
  if (bytes.length < 24 || text(bytes, 12, 4) !== "IHDR") return null;
  let frames = 1;
  for (let at = 8; at + 8 <= bytes.length;) {
    const length = u32be(bytes, at);
    const kind = text(bytes, at + 4, 4);
    if (kind === "acTL" && at + 12 <= bytes.length) frames = u32be(bytes, at + 8);
    if (kind === "IDAT" || kind === "IEND") break;
    at += 12 + length;
  }
  return { format: "PNG", width: u32be(bytes, 16), height: u32be(bytes, 20), frames, cmyk: false };
}

// JPEG: the first start-of-frame segment has the size and the number of components (4: CMYK or
// YCCK, which Pillow opens as CMYK).
function jpeg(bytes) {
  const startOfFrame = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);
  for (let at = 2; at + 4 <= bytes.length;) {
    if (bytes[at] !== 0xff) return null;
    const marker = bytes[at + 1];
    if (marker === 0xff) { at += 1; continue; } // fill bytes
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) { at += 2; continue; }
    if (startOfFrame.has(marker) && at + 10 <= bytes.length) {
      return { format: "JPEG", width: u16be(bytes, at + 7), height: u16be(bytes, at + 5), frames: 1, cmyk: bytes[at + 9] === 4 };
    }
    if (marker === 0xda || marker === 0xd9) return null; // scan data before any frame header
    at += 2 + u16be(bytes, at + 2);
  }
  return null;
}

// GIF: the logical screen's size; every image descriptor is a frame, so the blocks are walked.
function gif(bytes) {
  const skipSubBlocks = (at) => {
    while (at < bytes.length && bytes[at] !== 0) at += bytes[at] + 1;
    return at + 1;
  };
  const colourTable = (flags) => (flags & 0x80 ? 3 * 2 ** ((flags & 7) + 1) : 0);
  let frames = 0;
  let at = 13 + colourTable(bytes[10]);
  while (at < bytes.length) {
    const block = bytes[at];
    if (block === 0x21) at = skipSubBlocks(at + 2); // an extension: its label, then sub-blocks
    else if (block === 0x2c) { // an image: descriptor, local colour table, LZW code size, data
      frames += 1;
      at = skipSubBlocks(at + 10 + colourTable(bytes[at + 9]) + 1);
    } else break; // the trailer (0x3b), or a file cut short
  }
  return { format: "GIF", width: u16le(bytes, 6), height: u16le(bytes, 8), frames: Math.max(frames, 1), cmyk: false };
}

// WebP: lossy (VP8), lossless (VP8L) or extended (VP8X, whose ANMF chunks are the frames).
function webp(bytes) {
  const kind = text(bytes, 12, 4);
  if (kind === "VP8 " && bytes.length >= 30) {
    return { format: "WebP", width: u16le(bytes, 26) & 0x3fff, height: u16le(bytes, 28) & 0x3fff, frames: 1, cmyk: false };
  }
  if (kind === "VP8L" && bytes.length >= 25) {
    const bits = u32le(bytes, 21);
    return { format: "WebP", width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1, frames: 1, cmyk: false };
  }
  if (kind === "VP8X" && bytes.length >= 30) {
    let frames = 0;
    for (let at = 30 + (u32le(bytes, 16) - 10); at + 8 <= bytes.length; at += 8 + u32le(bytes, at + 4) + (u32le(bytes, at + 4) & 1)) {
      if (text(bytes, at, 4) === "ANMF") frames += 1;
    }
    return { format: "WebP", width: u24le(bytes, 24) + 1, height: u24le(bytes, 27) + 1, frames: Math.max(frames, 1), cmyk: false };
  }
  return null;
}

// BMP: the size is in the DIB header (OS/2's 12-byte header has 16-bit sizes; a negative height
// means top-down rows).
function bmp(bytes) {
  if (bytes.length < 26) return null;
  if (u32le(bytes, 14) === 12) return { format: "BMP", width: u16le(bytes, 18), height: u16le(bytes, 20), frames: 1, cmyk: false };
  return { format: "BMP", width: Math.abs(i32le(bytes, 18)), height: Math.abs(i32le(bytes, 22)), frames: 1, cmyk: false };
}

/**
 * The header of a photo file, or null when it is none of the formats this page reads.
 * @param {Uint8Array} bytes the file (its start is enough, except for a GIF's frame count)
 * @returns {Header|null}
 */
export function readHeader(bytes) {
  if (bytes.length >= 8 && text(bytes, 0, 8) === "\x89PNG\r\n\x1a\n") return png(bytes);
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return jpeg(bytes);
  if (bytes.length >= 13 && /^GIF8[79]a$/.test(text(bytes, 0, 6))) return gif(bytes);
  if (bytes.length >= 16 && text(bytes, 0, 4) === "RIFF" && text(bytes, 8, 4) === "WEBP") return webp(bytes);
  if (bytes.length >= 2 && text(bytes, 0, 2) === "BM") return bmp(bytes);
  return null;
}
