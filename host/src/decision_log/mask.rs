//! Masking request fields before they are logged.

/// Replaces the values at `pointers` (JSON pointers such as
/// `/equipment/softwareVersion`; `*` matches every array element or object
/// member) with `"<masked>"`. Pointers that match nothing are ignored.
pub fn mask(value: &mut serde_json::Value, pointers: &[String]) {
    for pointer in pointers {
        let parts: Vec<String> = pointer
            .split('/')
            .skip(1)
            .map(|p| p.replace("~1", "/").replace("~0", "~"))
            .collect();
        mask_at(value, &parts);
    }
}

fn mask_at(value: &mut serde_json::Value, parts: &[String]) {
    let Some((first, rest)) = parts.split_first() else {
        *value = serde_json::Value::String("<masked>".to_string());
        return;
    };
    match value {
        serde_json::Value::Object(map) if first == "*" => {
            map.values_mut().for_each(|v| mask_at(v, rest));
        }
        serde_json::Value::Object(map) => {
            if let Some(v) = map.get_mut(first) {
                mask_at(v, rest);
            }
        }
        serde_json::Value::Array(items) if first == "*" => {
            items.iter_mut().for_each(|v| mask_at(v, rest));
        }
        serde_json::Value::Array(items) => {
            if let Some(v) = first.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                mask_at(v, rest);
            }
        }
        _ => {}
    }
}
