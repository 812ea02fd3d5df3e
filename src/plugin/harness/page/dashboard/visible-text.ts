// The text a viewer can actually see in an element: text nodes whose box has a
// size and lies inside every clipping ancestor (overflow hidden/auto/scroll),
// so a legend entry scrolled out of its box or a bar cut off at the panel's
// edge (or of the panel's own box) does not count as "on screen".
function clipped(node: Element, rect: DOMRect, stop: Element): boolean {
  for (let el: Element | null = node; el && el !== stop.parentElement; el = el.parentElement) {
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none" || style.opacity === "0") {
      return true;
    }
    if (style.overflowX !== "visible" || style.overflowY !== "visible") {
      const box = el.getBoundingClientRect();
      // Half the text's height may be cut off before it stops being readable.
      const midY = rect.top + rect.height / 2;
      if (midY < box.top || midY > box.bottom || rect.right <= box.left || rect.left >= box.right) {
        return true;
      }
    }
  }
  return false;
}

export function visibleText(root: Element): string {
  const out: string[] = [];
  // The panel's own box: a later panel paints over what spills out of it.
  const own = root.getBoundingClientRect();
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = n.textContent ?? "";
    if (!text.trim() || !n.parentElement) {
      continue;
    }
    range.selectNodeContents(n);
    const rect = range.getBoundingClientRect();
    const midY = rect.top + rect.height / 2;
    const inside =
      midY >= own.top && midY <= own.bottom && rect.left < own.right && rect.right > own.left;
    if (rect.width > 0 && rect.height > 0 && inside && !clipped(n.parentElement, rect, root)) {
      out.push(text);
    }
  }
  return out.join("");
}
