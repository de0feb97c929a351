// Decodes and resizes your own images, in a worker of its own, so that the page stays responsive
// and a training in progress goes on while a folder loads. The browser decodes (WebCodecs'
// ImageDecoder, which decodes JPEGs at a reduced scale, or else createImageBitmap); each image is
// drawn on a small OffscreenCanvas and read back as RGB or grey bytes, as the training data holds
// them.
//
// In:  { items: [{label, path, file?: File, entry?: zip entry}], zip: File|null, size, channels }
// Out: { type: "progress", done, total } now and then, then
//      { type: "done", images: Uint8Array (count x size x size x channels), labels: Uint8Array,
//        skipped: { notImage: [path], undecodable: [path], tooLarge: [{path, width, height} or {path, bytes}] },
//        maxPixels }
import { zipReader } from "./zip.js";

// A decoded image takes 4 bytes a pixel until it is scaled: larger ones are refused, since a
// 50-megapixel PNG alone would take 200 MB (and a crafted one far more).
const MAX_PIXELS = 40e6;
// Images decoding at once, and the pixels they may hold together: many small ones in parallel,
// a large one alone.
const PARALLEL = 4;
const PIXELS_AT_ONCE = 48e6;
const HEAD_BYTES = 65536;
const WHOLE_BYTES = 64 * 2 ** 20;
const FORMAT_TYPES = { ico: "x-icon" }; // MIME subtypes that are not the format's name
const PROGRESS_MS = 100;

/**
 * What the first bytes say: the format, and the size where the header gives it cheaply.
 * @param {DataView} head
 * @returns {{format: string, width?: number, height?: number} | null} null: not an image
 */
function sniff(head) {
  const byte = (at) => (at < head.byteLength ? head.getUint8(at) : -1);
  const text = (at, length) => String.fromCharCode(...Array.from({ length }, (_, index) => byte(at + index)));
  if (head.byteLength >= 24 && head.getUint32(0) === 0x89504e47) return { format: "png", width: head.getUint32(16), height: head.getUint32(20) };
  if (byte(0) === 0xff && byte(1) === 0xd8) return { format: "jpeg" }; // its size comes from jpegSize
  if (text(0, 4) === "GIF8" && head.byteLength >= 10) return { format: "gif", width: head.getUint16(6, true), height: head.getUint16(8, true) };
  if (text(0, 2) === "BM" && head.byteLength >= 26) {
    const old = head.getUint32(14, true) === 12; // OS/2's header: 16-bit sizes
    return old ? { format: "bmp", width: head.getUint16(18, true), height: head.getUint16(20, true) }
      : { format: "bmp", width: Math.abs(head.getInt32(18, true)), height: Math.abs(head.getInt32(22, true)) };
  }
  if (text(0, 4) === "RIFF" && text(8, 4) === "WEBP" && head.byteLength >= 30) return webpSize(head, text(12, 4));
  if (text(4, 4) === "ftyp" && ["avif", "avis", "mif1"].includes(text(8, 4))) return { format: "avif" };
  if (head.byteLength >= 4 && head.getUint32(0) === 0x00000100) return { format: "ico" }; // at most 256 x 256
  return null;
}

function webpSize(head, chunk) {
  const at = (offset) => head.getUint8(offset);
  if (chunk === "VP8 ") return { format: "webp", width: head.getUint16(26, true) & 0x3fff, height: head.getUint16(28, true) & 0x3fff };
  if (chunk === "VP8L") {
    return { format: "webp", width: 1 + (at(21) | ((at(22) & 0x3f) << 8)), height: 1 + ((at(22) >> 6) | (at(23) << 2) | ((at(24) & 0xf) << 10)) };
  }
  const u24 = (offset) => at(offset) | (at(offset + 1) << 8) | (at(offset + 2) << 16);
  return { format: "webp", width: 1 + u24(24), height: 1 + u24(27) }; // VP8X
}

// A JPEG's size from its frame header, which follows the EXIF and colour profile segments: found
// in the bytes in hand, or in `blob`'s next parts (a file too large to read whole).
async function jpegSize(head, blob = null) {
  const end = blob ? blob.size : head.byteLength;
  let view = head;
  let base = 0;
  let at = 2;
  while (at + 9 < end) {
    if (at + 9 > base + view.byteLength) {
      base = at;
      view = new DataView(await blob.slice(at, at + HEAD_BYTES).arrayBuffer());
    }
    const marker = view.getUint16(at - base);
    if (marker >> 8 !== 0xff) return null;
    const kind = marker & 0xff;
    // Start of frame: every SOFn but DHT (C4), JPG (C8) and DAC (CC).
    if (kind >= 0xc0 && kind <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(kind)) {
      return { height: view.getUint16(at - base + 5), width: view.getUint16(at - base + 7) };
    }
    // Markers without a length: restarts, TEM, and fill bytes.
    at += kind === 0xff ? 1 : (kind >= 0xd0 && kind <= 0xd7) || kind === 0x01 ? 2 : 2 + view.getUint16(at - base + 2);
  }
  return null;
}

// Waits until `pixels` fit beside those being decoded; an image larger than all of it goes alone.
function pixelBudget(limit) {
  let used = 0;
  const waiting = [];
  const next = () => {
    while (waiting.length && (used === 0 || used + waiting[0].pixels <= limit)) {
      const { pixels, resolve } = waiting.shift();
      used += pixels;
      resolve();
    }
  };
  return {
    take: (pixels) => new Promise((resolve) => {
      waiting.push({ pixels, resolve });
      next();
    }),
    give: (pixels) => {
      used -= pixels;
      next();
    },
  };
}

// RGB(A) canvas bytes to the data's channels: grey is ITU-R 601 luminance, as Pillow's
// convert("L") and the CLI make it. Transparency is dropped, as the CLI's convert("RGB") drops it.
function toChannels(rgba, target, offset, channels) {
  const pixels = rgba.length / 4;
  for (let pixel = 0; pixel < pixels; pixel += 1) {
    const [red, green, blue] = [rgba[4 * pixel], rgba[4 * pixel + 1], rgba[4 * pixel + 2]];
    if (channels === 1) {
      target[offset + pixel] = Math.round(0.299 * red + 0.587 * green + 0.114 * blue);
    } else {
      target[offset + 3 * pixel] = red;
      target[offset + 3 * pixel + 1] = green;
      target[offset + 3 * pixel + 2] = blue;
    }
  }
}

// The pixels a decode holds. JPEGs decode at 1/2, 1/4 or 1/8 scale where the browser's
// ImageDecoder is told the size wanted (libjpeg scales while it decodes, as the CLI's Pillow
// draft() does): a 50-megapixel photo then takes 0.8 megapixels. Unknown sizes count as 1.
function decodedPixels({ format, width, height }, size) {
  if (!width || !height) return 1e6;
  let scale = 1;
  if (format === "jpeg" && self.ImageDecoder) while (scale < 8 && width / (2 * scale) >= size && height / (2 * scale) >= size) scale *= 2;
  return Math.ceil(width / scale) * Math.ceil(height / scale);
}

const decoderSupport = {};
async function canDecode(type) {
  decoderSupport[type] ??= self.ImageDecoder ? ImageDecoder.isTypeSupported(type).catch(() => false) : Promise.resolve(false);
  return decoderSupport[type];
}

// Decoded and drawn at `size` x `size` (squashed, as the CLI resizes). WebCodecs' ImageDecoder
// reads the bytes in hand and scales JPEGs as it decodes; where a browser has none,
// createImageBitmap scales. Both apply EXIF orientation.
async function draw({ bytes, blob }, format, size, context) {
  const type = `image/${FORMAT_TYPES[format] ?? format}`;
  if (await canDecode(type)) {
    const decoder = new ImageDecoder({ data: bytes ?? blob.stream(), type, desiredWidth: size, desiredHeight: size });
    try {
      const { image } = await decoder.decode();
      context.drawImage(image, 0, 0, size, size);
      image.close();
    } finally {
      decoder.close();
    }
    return;
  }
  const bitmap = await createImageBitmap(blob ?? new Blob([bytes]), { resizeWidth: size, resizeHeight: size, resizeQuality: "high" });
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
}

// The item's bytes, read once: each read of a File is a round trip to the browser's process
// (about 2 ms on a busy 2-core machine, as long as decoding a small JPEG). Files over
// WHOLE_BYTES are read in parts, their header first.
async function readItem(item, zip) {
  if (!item.file) return { bytes: await zip(item.entry) };
  return item.file.size <= WHOLE_BYTES ? { bytes: new Uint8Array(await item.file.arrayBuffer()) } : { blob: item.file };
}

async function readFacts({ bytes, blob }) {
  const head = new DataView(bytes ? bytes.buffer : await blob.slice(0, HEAD_BYTES).arrayBuffer(), bytes?.byteOffset ?? 0);
  const facts = sniff(head);
  return facts?.format === "jpeg" ? { ...facts, ...(await jpegSize(head, blob)) } : facts;
}

/**
 * One item's pixels, or why not: "notImage", "undecodable" or "tooLarge".
 * @returns {Promise<{rgba?: Uint8ClampedArray, skip?: string, width?: number, height?: number}>}
 */
async function decodeOne(item, zip, size, context, budget) {
  if (item.entry?.size > WHOLE_BYTES) return { skip: "tooLarge", bytes: item.entry.size }; // unpacked whole, or not at all
  let source;
  let facts;
  try {
    source = await readItem(item, zip);
    facts = await readFacts(source);
  } catch (error) {
    return { skip: "undecodable" }; // a zip entry that does not unpack, a file gone since it was picked
  }
  if (!facts) return { skip: "notImage" };
  const pixels = decodedPixels(facts, size);
  if (pixels > MAX_PIXELS) return { skip: "tooLarge", width: facts.width, height: facts.height };
  await budget.take(pixels);
  try {
    context.clearRect(0, 0, size, size);
    await draw(source, facts.format, size, context);
    return { rgba: context.getImageData(0, 0, size, size).data };
  } catch (error) {
    return { skip: "undecodable" };
  } finally {
    budget.give(pixels);
  }
}

async function decodeAll({ items, zip, size, channels }) {
  const values = size * size * channels;
  const images = new Uint8Array(items.length * values);
  const labels = new Uint8Array(items.length);
  const skipped = { notImage: [], undecodable: [], tooLarge: [] };
  const kept = new Uint8Array(items.length);
  const budget = pixelBudget(PIXELS_AT_ONCE);
  const unpack = zip ? zipReader(zip) : null;
  // A zip's entries in the order they lie in the archive, so that its parts are read once each.
  const order = Array.from(items, (_, index) => index);
  if (zip) order.sort((a, b) => items[a].entry.headerOffset - items[b].entry.headerOffset);
  let next = 0;
  let done = 0;
  let reported = 0;
  const lane = async () => {
    const context = new OffscreenCanvas(size, size).getContext("2d", { willReadFrequently: true });
    context.imageSmoothingQuality = "high";
    while (next < items.length) {
      const index = order[next++];
      const result = await decodeOne(items[index], unpack, size, context, budget);
      if (result.rgba) {
        toChannels(result.rgba, images, index * values, channels);
        kept[index] = 1;
      } else {
        const path = items[index].path;
        skipped[result.skip].push(result.skip === "tooLarge" ? { path, width: result.width, height: result.height, bytes: result.bytes } : path);
      }
      done += 1;
      if (performance.now() - reported > PROGRESS_MS) {
        reported = performance.now();
        self.postMessage({ type: "progress", done, total: items.length });
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, lane));
  // Only the images that decoded, in the listing's order.
  let count = 0;
  for (let index = 0; index < items.length; index += 1) {
    if (!kept[index]) continue;
    if (count !== index) images.copyWithin(count * values, index * values, (index + 1) * values);
    labels[count] = items[index].label;
    count += 1;
  }
  return { images: images.slice(0, count * values), labels: labels.slice(0, count), skipped };
}

self.onmessage = async ({ data }) => {
  try {
    const result = await decodeAll(data);
    self.postMessage({ type: "done", ...result, maxPixels: MAX_PIXELS }, [result.images.buffer, result.labels.buffer]);
  } catch (error) {
    self.postMessage({ type: "error", message: error.message ?? String(error) });
  }
};
