// Extends the scaffold's jest config (.config/ is create-plugin's, not edited)
// for @grafana/* 13.2 + React 19: some dependencies ship only ESM (.mjs too),
// so swc transforms them as well.
const { grafanaESModules, nodeModulesToTransform } = require("./.config/jest/utils");
const base = require("./.config/jest.config");

const swc = base.transform["^.+\\.(t|j)sx?$"];

module.exports = {
  ...base,
  transform: { "^.+\\.(t|j)sx?$": swc, "^.+\\.mjs$": swc },
  transformIgnorePatterns: [
    nodeModulesToTransform([...grafanaESModules, "@react-hookz", "@ver0/deep-equal"]),
  ],
  testMatch: ["<rootDir>/src/**/*.spec.{ts,tsx}"],
};
