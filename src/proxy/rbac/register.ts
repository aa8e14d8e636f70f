/**
 * Registers Sailfin's security filters (import for the side effect): HTTP rbac and jwt_authn, and the
 * network rbac filter. Imported from the HTTP filter list, which every proxy loads with the HCM.
 */
import './http-rbac-filter.js';
import './network-rbac-filter.js';
import './jwt/jwt-authn-filter.js';
