/** Registers every built-in HTTP filter (import for the side effect). */
import './cors.js';
import './fault.js';
import './peer-metadata.js';
import './router.js';
import '../../rbac/register.js';
