// Reading the user's photo as `trainer colorize` reads one (trainer/photos.py's read_grey): the
// same refusals, each one line, checked from the file's header before anything is decoded; then
// decoded by the browser, its transparency composited on white.
import { readHeader } from "./header.js";
import { loadDataset } from "../train/data.js";

// trainer/photos.py's limits (the test checks they are the same).
export const MAX_PIXELS = 40_000_000;
export const MIN_SIDE = 8;
const HEADER_BYTES = 4 << 20;
// The browser's own limit: Chromium's canvas takes at most 32,767 pixels a side.
const MAX_CANVAS_SIDE = 32_767;

/** A photo that cannot be colorized; the message is one line that names it. */
export class PhotoError extends Error {}

/**
 * @typedef {{name: string, width: number, height: number, rgba: Uint8ClampedArray}} Photo
 * rgba: height x width x 4 bytes, opaque
 */

/**
 * The refusals of trainer/photos.py, in its order, from the header's numbers alone.
 * @param {string} name the file's name, for the message
 * @param {import("./header.js").Header|null} header
 */
export function check(name, header) {
  if (!header) throw new PhotoError(`${name} is not an image this page can read (PNG, JPEG, GIF, WebP or BMP)`);
  const { width, height, frames } = header;
  if (width * height > MAX_PIXELS) {
    throw new PhotoError(`${name} is ${width} x ${height} (${(width * height / 1e6).toFixed(0)} megapixels), more than ` +
      `the ${MAX_PIXELS / 1e6} colorize takes; scale it down first`);
  }
  if (Math.min(width, height) < MIN_SIDE) {
    throw new PhotoError(`${name} is ${width} x ${height}: too small to colorize (at least ${MIN_SIDE} pixels a side)`);
  }
  if (frames > 1) {
    throw new PhotoError(`${name} is animated (${frames} frames); colorize takes still images: save the frame you ` +
      `want as a PNG`);
  }
  if (header.cmyk) {
    throw new PhotoError(`${name} is a CMYK (print) image, whose grey tones depend on its colour profile; convert ` +
      `it to RGB or greyscale first`);
  }
  if (Math.max(width, height) > MAX_CANVAS_SIDE) {
    throw new PhotoError(`${name} is ${width} x ${height}: a browser cannot draw more than ${MAX_CANVAS_SIDE} pixels ` +
      `a side; scale it down, or use trainer colorize`);
  }
}

/**
 * A photo file (picked, dropped or pasted), checked and decoded.
 * @param {File|Blob} file
 * @param {string} name
 * @returns {Promise<Photo>}
 */
export async function readPhoto(file, name = file.name || "the pasted image") {
  // The header is in the first bytes (a JPEG's after its metadata); a GIF's or a WebP's frames
  // are counted through the whole file. A large file of another kind is never read whole.
  const bytesOf = async (blob) => new Uint8Array(await blob.arrayBuffer());
  let header = readHeader(await bytesOf(file.slice(0, HEADER_BYTES)));
  if (file.size > HEADER_BYTES && ["GIF", "WebP"].includes(header?.format)) header = readHeader(await bytesOf(file));
  check(name, header);
  let bitmap;
  try {
    // Colour profiles are ignored, as Pillow ignores them: the grey is the file's own numbers.
    bitmap = await createImageBitmap(file, { colorSpaceConversion: "none", imageOrientation: "from-image" });
  } catch (error) {
    throw new PhotoError(`${name} is damaged: the browser cannot decode it (${error.name})`);
  }
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.fillStyle = "white"; // transparency is composited on white, as the CLI does
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
  return { name, width: canvas.width, height: canvas.height, rgba: data };
}

let emoji = null; // the data set, fetched and checked once

/**
 * An emoji of the training data (web/data/emoji, 32 x 32 colour images), as a photo.
 * @param {number} index 0 to count - 1, wrapped into range
 * @returns {Promise<Photo>}
 */
export async function emojiPhoto(index) {
  emoji ??= loadDataset("emoji").catch((error) => {
    emoji = null; // a later try fetches again
    throw new PhotoError(error.message);
  });
  const { images, count, imageShape: [height, width, channels], labelNames, labels } = await emoji;
  const chosen = ((Math.trunc(index) % count) + count) % count;
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let pixel = 0; pixel < width * height; pixel += 1) {
    for (let channel = 0; channel < 3; channel += 1) {
      rgba[pixel * 4 + channel] = images[(chosen * width * height + pixel) * channels + (channels === 3 ? channel : 0)];
    }
    rgba[pixel * 4 + 3] = 255;
  }
  return { name: `emoji-${chosen}`, title: `emoji ${chosen} (${labelNames[labels[chosen]]})`, width, height, rgba };
}
