"""Every move between GPU instance states: the legal ones, and every other one refused with
409 INVALID_TRANSITION."""

from __future__ import annotations

import itertools

import pytest

from galapagos_core.gpu.lifecycle import check
from galapagos_core.kernel.errors import Conflict
from galapagos_model.enums import GpuInstanceStatus as S

LEGAL = {
    (S.PROVISIONING, S.BOOTING),
    (S.BOOTING, S.READY),
    (S.READY, S.RECOVERING),
    (S.RECOVERING, S.READY),
    (S.READY, S.DRAINING),
    (S.DRAINING, S.TERMINATED),
    # Draining may begin before it ever answered.
    (S.PROVISIONING, S.DRAINING),
    (S.BOOTING, S.DRAINING),
    (S.RECOVERING, S.DRAINING),
    # Failure from any live state.
    *(
        (state, S.FAILED)
        for state in (S.PROVISIONING, S.BOOTING, S.READY, S.RECOVERING, S.DRAINING)
    ),
}


@pytest.mark.parametrize(("current", "wanted"), list(itertools.product(S, S)))
def test_every_move(current: S, wanted: S) -> None:
    if (current, wanted) in LEGAL:
        check(current, wanted)
        return
    with pytest.raises(Conflict) as refused:
        check(current, wanted)
    assert refused.value.code == "INVALID_TRANSITION"
    assert refused.value.status_code == 409
