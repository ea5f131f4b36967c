//! Apple's unit strings → unit strings the gateway accepts.
//!
//! Most of Apple's units ("count", "km", "kcal", "count/min", "degC", "mg/dL") are accepted
//! by the gateway as written. The exceptions are handled here, and only here:
//! - "%" of oxygen saturation and body fat holds a 0-1 value, so it goes out as "fraction";
//! - blood glucose in mmol/L is written with its molar mass, "mmol<180.1558800000541>/L";
//! - a few units the gateway does not list are rescaled to one it does (ounces, small
//!   calories, millimetres, counts per second).

use super::types::TypeMapping;

/// Units the gateway lacks, with the accepted unit they are rescaled to.
const RESCALED: &[(&str, &str, f64)] = &[
    ("oz", "lb", 1.0 / 16.0),
    ("cal", "kcal", 0.001),
    ("mm", "cm", 0.1),
    ("count/s", "count/min", 60.0),
];

/// `value` in `apple_unit` as a (value, unit) pair the gateway accepts for `mapping`'s type,
/// or `None` when there is no such pair.
pub(crate) fn to_gateway(
    mapping: &TypeMapping,
    apple_unit: &str,
    value: f64,
) -> Option<(f64, &'static str)> {
    let unit = apple_unit.trim();
    if mapping.percent_is_fraction && unit == "%" {
        return Some((value, "fraction"));
    }
    let unit = if is_molar_per_litre(unit) {
        "mmol/L"
    } else {
        unit
    };
    if let Some(&accepted) = mapping.units.iter().find(|u| **u == unit) {
        return Some((value, accepted));
    }
    let &(_, to, factor) = RESCALED.iter().find(|(from, _, _)| *from == unit)?;
    let &accepted = mapping.units.iter().find(|u| **u == to)?;
    Some((value * factor, accepted))
}

/// "mmol<180.1558800000541>/L": HealthKit names the molar mass it converted with.
fn is_molar_per_litre(unit: &str) -> bool {
    unit.starts_with("mmol<") && unit.ends_with(">/L")
}

#[cfg(test)]
mod tests {
    use super::super::types::lookup;
    use super::*;

    fn conv(hk: &str, unit: &str, value: f64) -> Option<(f64, &'static str)> {
        to_gateway(lookup(hk).unwrap(), unit, value)
    }

    #[test]
    fn accepted_units_pass_unchanged() {
        assert_eq!(
            conv("HKQuantityTypeIdentifierDistanceWalkingRunning", "km", 1.5),
            Some((1.5, "km"))
        );
        assert_eq!(
            conv("HKQuantityTypeIdentifierDistanceWalkingRunning", "mi", 1.5),
            Some((1.5, "mi"))
        );
        assert_eq!(
            conv("HKQuantityTypeIdentifierHeartRate", "count/min", 72.0),
            Some((72.0, "count/min"))
        );
        assert_eq!(
            conv("HKQuantityTypeIdentifierRespiratoryRate", "count/min", 14.0),
            Some((14.0, "count/min"))
        );
        assert_eq!(
            conv("HKQuantityTypeIdentifierBodyTemperature", "degF", 98.6),
            Some((98.6, "degF"))
        );
        assert_eq!(
            conv("HKQuantityTypeIdentifierBodyMass", " lb ", 181.0),
            Some((181.0, "lb"))
        );
        assert_eq!(
            conv("HKQuantityTypeIdentifierHeight", "ft", 5.75),
            Some((5.75, "ft"))
        );
    }

    #[test]
    fn percent_of_fraction_types_becomes_fraction() {
        assert_eq!(
            conv("HKQuantityTypeIdentifierBodyFatPercentage", "%", 0.161),
            Some((0.161, "fraction"))
        );
        assert_eq!(
            conv("HKQuantityTypeIdentifierOxygenSaturation", "%", 0.97),
            Some((0.97, "fraction"))
        );
    }

    #[test]
    fn apple_only_spellings_are_mapped() {
        let glucose = conv(
            "HKQuantityTypeIdentifierBloodGlucose",
            "mmol<180.1558800000541>/L",
            5.5,
        );
        assert_eq!(glucose, Some((5.5, "mmol/L")));
        assert_eq!(
            conv("HKQuantityTypeIdentifierBodyMass", "oz", 32.0),
            Some((2.0, "lb"))
        );
        assert_eq!(
            conv("HKQuantityTypeIdentifierHeartRate", "count/s", 1.2),
            Some((72.0, "count/min"))
        );
        assert_eq!(
            conv("HKQuantityTypeIdentifierActiveEnergyBurned", "cal", 1500.0),
            Some((1.5, "kcal"))
        );
    }

    #[test]
    fn units_of_another_dimension_are_refused() {
        assert_eq!(conv("HKQuantityTypeIdentifierStepCount", "km", 1.0), None);
        assert_eq!(conv("HKQuantityTypeIdentifierHeartRate", "%", 1.0), None);
        assert_eq!(
            conv("HKQuantityTypeIdentifierBodyMass", "count/s", 1.0),
            None
        );
        assert_eq!(
            conv("HKQuantityTypeIdentifierBloodGlucose", "mmol", 1.0),
            None
        );
    }
}
