// Colouring a photo of any size with an exported colorizer, as trainer/photos.py's
// colorize_photo does: the luminance stays at full size; the generator sees it squeezed to its
// square; the chroma it predicts is scaled back up and joined with the full-size luminance.
import { BICUBIC, rowResizer, squeezeLikePillow } from "./resample.js";
import { chromaOf, joinRow } from "./colour.js";

/**
 * @param {tf.GraphModel} generator the export's generator: `grey` (1, S, S, 1) in [-1, 1] →
 *   RGB (1, S, S, 3) in [-1, 1]
 * @param {{image_shape: number[], output_range: number[], inputs: string[]}} manifest
 * @param {{width: number, height: number, data: Uint8Array}} grey the photo's luminance (H, W)
 * @returns {Promise<{rgba: Uint8ClampedArray, modelMilliseconds: number}>} the coloured photo,
 *   H x W x 4 bytes, and the time the generator took
 */
export async function colorize(generator, manifest, grey) {
  const side = manifest.image_shape[0];
  const [low, high] = manifest.output_range;
  const small = squeezeLikePillow(grey, side);
  const started = performance.now();
  const output = tf.tidy(() => {
    const pixels = tf.tensor4d(Float32Array.from(small.data), [1, side, side, 1]);
    const input = pixels.mul((high - low) / 255).add(low); // to_model_range, in float32 as TF does it
    return generator.execute({ [manifest.inputs[0]]: input });
  });
  let coloured;
  try {
    coloured = await output.data();
  } finally {
    output.dispose();
  }
  const modelMilliseconds = performance.now() - started;
  // The chroma of what the generator drew (its own luminance step may have desaturated it).
  const { cb, cr } = chromaOf(coloured, side);
  const { width, height } = grey;
  const [cbRow, crRow] = [rowResizer(cb, width, height, BICUBIC), rowResizer(cr, width, height, BICUBIC)];
  const rgba = new Uint8ClampedArray(width * height * 4);
  const [cbLine, crLine] = [new Float32Array(width), new Float32Array(width)];
  for (let row = 0; row < height; row += 1) {
    cbRow(row, cbLine);
    crRow(row, crLine);
    joinRow(grey.data.subarray(row * width, (row + 1) * width), cbLine, crLine,
      rgba.subarray(row * width * 4, (row + 1) * width * 4), manifest.output_range);
  }
  return { rgba, modelMilliseconds };
}
