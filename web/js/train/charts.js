// Line charts on a canvas: a few series against the step count, redrawn whole each time (a few
// thousand points draw in well under a millisecond).

const MARGIN = { left: 44, right: 8, top: 8, bottom: 20 };

export function drawChart(canvas, xs, series, { min = null, max = null } = {}) {
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  const values = series.flatMap(({ values: ys }) => ys.filter(Number.isFinite));
  if (!xs.length || !values.length) return;
  const low = min ?? Math.min(...values);
  const high = max ?? Math.max(...values);
  const span = high - low || 1;
  const first = xs[0];
  const last = xs.at(-1) === first ? first + 1 : xs.at(-1);
  const x = (value) => MARGIN.left + ((value - first) / (last - first)) * (width - MARGIN.left - MARGIN.right);
  const y = (value) => height - MARGIN.bottom - ((value - low) / span) * (height - MARGIN.top - MARGIN.bottom);
  context.strokeStyle = "#999";
  context.fillStyle = "#555";
  context.font = "11px sans-serif";
  context.strokeRect(MARGIN.left, MARGIN.top, width - MARGIN.left - MARGIN.right, height - MARGIN.top - MARGIN.bottom);
  context.fillText(high.toPrecision(3), 2, MARGIN.top + 10);
  context.fillText(low.toPrecision(3), 2, height - MARGIN.bottom);
  context.fillText(`step ${last}`, width - 80, height - 5);
  series.forEach(({ name, values: ys, color }, index) => {
    context.strokeStyle = color;
    context.beginPath();
    ys.forEach((value, point) => {
      if (!Number.isFinite(value)) return;
      if (point === 0) context.moveTo(x(xs[point]), y(value));
      else context.lineTo(x(xs[point]), y(value));
    });
    context.stroke();
    context.fillStyle = color;
    context.fillText(`${name} ${Number.isFinite(ys.at(-1)) ? ys.at(-1).toFixed(3) : ys.at(-1)}`, MARGIN.left + 6 + index * 120, MARGIN.top + 12);
  });
}
