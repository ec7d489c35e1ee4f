/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: '<rootDir>/test/support/node-env.js',
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  transform: { '^.+\\.(t|j|mj)s$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }] },
  // onnx-buf and @bufbuild/protobuf ship ES modules only; jest's CommonJS loader needs them transpiled.
  transformIgnorePatterns: ['/node_modules/(?!(onnx-buf|@bufbuild)/)'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  testTimeout: 120000,
};
