// @ts-check
// Placeholder front end; replaced by the conference widget.
export default {
  initialize() {},
  render({ el }) {
    el.textContent = "nbconference";
  },
};
