// Small DOM helpers shared by the views.

/** Replaces a <select>'s options with `options` ({value, label} each). */
export function fillSelect(select, options) {
  select.replaceChildren(
    ...options.map(({ value, label }) => {
      const o = document.createElement('option');
      o.value = value;
      o.textContent = label;
      return o;
    }),
  );
}

/** Sizes a canvas for the device's pixel ratio; returns a cleared 2d context in CSS pixels. */
export function sizeCanvas(canvas, width, height) {
  const dpr = devicePixelRatio || 1;
  canvas.width = Math.floor(width * dpr);
  canvas.height = Math.floor(height * dpr);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return ctx;
}
