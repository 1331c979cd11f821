package snapshot

import (
	"reflect"
	"time"
)

var timeType = reflect.TypeFor[time.Time]()

// normalizeTimes sets every timestamp in v (a pointer) to UTC. The CLI
// prints "+00:00" offsets; a fixed zone would make equal instants compare
// unequal with ==, reflect.DeepEqual and in JSON output.
func normalizeTimes(v any) {
	walkTimes(reflect.ValueOf(v))
}

func walkTimes(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walkTimes(v.Elem())
		}
	case reflect.Struct:
		if v.Type() == timeType {
			if v.CanSet() {
				v.Set(reflect.ValueOf(v.Interface().(time.Time).UTC()))
			}
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				walkTimes(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		switch v.Type().Elem().Kind() {
		case reflect.Struct, reflect.Pointer, reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walkTimes(v.Index(i))
			}
		}
	}
}
