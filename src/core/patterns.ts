/**
 * Rules about names and tokens that several parts of hookrelay apply: one copy each, so they
 * cannot drift apart.
 */

/** A caller-supplied request id is kept when it is a plain token of sane length; otherwise one is minted. */
export const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
