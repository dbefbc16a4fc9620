'use strict';
/* Runs after app.js and every page_*.js have registered themselves. */
Sluice.start();
