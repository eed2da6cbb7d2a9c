/**
 * `express4` is express@4.22.3 installed under an alias. `@types/express` 4 is not installed; the
 * conformance app uses only what Express 4 and 5 share (routing, `listen`, `json`, `urlencoded`),
 * so Express 5's declarations stand in for it.
 */
declare module 'express4' {
  import express = require('express');
  export = express;
}
