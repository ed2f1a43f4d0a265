// Ported from express-session 1.19.0 test/support/env.js (MIT License, see ../session.test.ts).
// Imported first by the suite, before express-session is loaded, as mocha's `--require` did.
process.env.NO_DEPRECATION = 'express-session';
