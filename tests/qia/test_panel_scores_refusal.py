"""Who may not see the panel members' own scores is told the reason that applies to them:
a scorer who has not scored is asked to score first; someone who never scores is not."""

import pytest
from django.urls import reverse

from tests.qia.conftest import text

pytestmark = pytest.mark.django_db

BLIND = "Panel scores stay hidden until you have recorded your own"
NOT_A_SCORER = "shown only to the members who scored this version and to the Chief Nurse"


@pytest.fixture
def scheme(qia):
    scheme = qia.at_panel()
    qia.score(scheme, "elr-panel-member")
    return scheme


@pytest.mark.parametrize("username", ["elr-viewer", "elr-project-lead", "elr-sro"])
def test_someone_who_never_scores_is_told_they_are_not_a_scorer(qia, as_user, scheme, username):
    response = as_user(qia[username]).get(reverse("qia_panel", args=[scheme.pk]))
    assert response.status_code == 403
    assert NOT_A_SCORER in text(response)
    assert BLIND not in text(response)


def test_a_scorer_who_has_not_scored_is_asked_to_score_first(qia, as_user, scheme):
    response = as_user(qia["elr-quality-lead"]).get(reverse("qia_panel", args=[scheme.pk]))
    assert response.status_code == 403
    assert BLIND in text(response)
