"""A tenant's decisions refine the shipped `auto` calibration and keep it monotone."""

from autonomos.dcl.matching.calibration import Thresholds
from autonomos.dcl.matching.probability import auto_calibration


def _monotone(calibration) -> bool:
    rates = [r / t for r, t in zip(calibration.right, calibration.total) if t]
    return all(a <= b for a, b in zip(rates, rates[1:]))


def test_rejections_at_high_scores_lower_the_auto_bound():
    shipped = auto_calibration()
    top = shipped.edges[-1]
    refined = shipped.refined([(top, False)] * 20)
    assert refined.lower_bound(top) < shipped.lower_bound(top)
    assert _monotone(refined)


def test_approvals_raise_the_bound_and_no_decisions_change_nothing():
    shipped = auto_calibration()
    top = shipped.edges[-1]
    assert shipped.refined([]) is shipped
    assert shipped.refined([(top, True)] * 50).lower_bound(top) >= shipped.lower_bound(top)


def test_thresholds_carry_a_refined_calibration():
    refined = auto_calibration().refined([(0.99, False)] * 5)
    assert Thresholds(calibration=refined).calibration is refined
