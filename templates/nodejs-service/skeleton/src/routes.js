'use strict';

const { Router } = require('express');
const { name } = require('../package.json');

/**
 * The service's own endpoints. Add yours here: the metrics label each
 * request with the route pattern you declare (for example `/orders/:id`).
 */
const router = Router();

router.get('/', (_req, res) => {
  res.json({ service: name, message: `Hello from ${name}` });
});

module.exports = router;
