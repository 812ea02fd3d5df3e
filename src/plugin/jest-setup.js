// Jest setup: the scaffold's, plus what React 19's scheduler needs in jsdom.
import "./.config/jest-setup";

// React 19 (pulled in by @grafana/ui) schedules work with MessageChannel, which
// jsdom lacks: a setTimeout-based channel is enough for rendering in tests.
if (typeof global.MessageChannel === "undefined") {
  global.MessageChannel = class {
    constructor() {
      this.port1 = { onmessage: null, postMessage: () => undefined, close: () => undefined };
      this.port2 = {
        onmessage: null,
        postMessage: (data) => setTimeout(() => this.port1.onmessage?.({ data }), 0),
        close: () => undefined,
      };
    }
  };
}
// Combobox measures itself; jsdom has no ResizeObserver.
if (typeof global.ResizeObserver === "undefined") {
  global.ResizeObserver = class {
    observe() {}
    unobserve() {}
    disconnect() {}
  };
}
// jsdom has no canvas; Combobox sizes its menu with measureText. An estimate is
// enough (layout is not what these tests check; the browser harness renders for real).
HTMLCanvasElement.prototype.getContext = function () {
  return { font: "", measureText: (text) => ({ width: String(text).length * 7 }) };
};
