"""The filter bars of the scheme list and the risk register, from a phone to a desktop: every
label shown, every choice readable in full in its box (from the small screen up: a phone's
box is the screen's width), the bar wrapping onto more lines rather than running off the page."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = [360, 600, 800, 1024, 1280, 1440]

# For each select of the filter bar: the width of its widest choice, in its font, and the room
# its box gives a choice (the box less its padding, which holds the arrow).
MEASURE = """() => [...document.querySelectorAll('main form[method="get"] select')].map(s => {
  const style = getComputedStyle(s);
  const probe = document.createElement('span');
  probe.style.font = style.font;
  probe.style.whiteSpace = 'pre';
  probe.style.position = 'absolute';
  probe.style.visibility = 'hidden';
  document.body.appendChild(probe);
  const widths = [...s.options].map(o => {
    probe.textContent = o.text;
    return probe.getBoundingClientRect().width;
  });
  probe.remove();
  const room = s.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return {name: s.name, widest: Math.max(...widths), room: room};
})"""

LABELS = """() => [...document.querySelectorAll('main form[method="get"] label')].map(l => {
  const box = l.getBoundingClientRect();
  return {text: l.textContent.trim(), left: box.left, right: box.right, width: box.width};
})"""


@pytest.mark.parametrize("path", ["/schemes/", "/qia/register/"])
def test_the_filters_wrap_and_nothing_is_cut_off(demo, visit, path):
    page = visit.page
    visit.sign_in("elr-pmo")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(visit.url(path))
        visit.step(f"{path} filters at {width} px")
        # nothing runs off the side of the page
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} at {width} px scrolls sideways by {overflow} px"
        for label in page.evaluate(LABELS):
            assert label["width"] > 0 and label["left"] >= 0 and label["right"] <= width, (
                f"{path} at {width} px: the label {label['text']!r} is not in view"
            )
        if width >= 576:  # on a phone each box is the screen's width: nothing wider fits
            for select in page.evaluate(MEASURE):
                assert select["widest"] <= select["room"] + 1, (
                    f"{path} at {width} px: the choices of {select['name']} are cut off "
                    f"({select['widest']:.0f} px of text in {select['room']:.0f} px)"
                )
    visit.assert_accessible()
    visit.assert_no_browser_errors()


NAV_ITEMS = """() => [...document.querySelectorAll('nav[aria-label="Main"] .nav-link')].map(a => {
  const box = a.getBoundingClientRect();
  return {text: a.textContent.trim(), right: box.right, width: box.width};
})"""


def test_the_main_navigation_wraps_rather_than_running_off_the_page(demo, visit):
    """The PMO has the most links (escalations, the QAG pack): at the widths where the links
    first show in a row, each stays in view, the row wrapping if it must."""
    page = visit.page
    visit.sign_in("elr-pmo")
    for width in (1200, 1208, 1216, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(visit.url("/"))
        for item in page.evaluate(NAV_ITEMS):
            assert item["width"] == 0 or item["right"] <= width, (
                f"at {width} px the link {item['text']!r} runs off the page"
            )
