package wire_test

import (
	"fmt"

	"tether/internal/wire"
)

func ExampleDecode() {
	req, err := wire.Decode([]byte(`["CMD", "send_message", ["hello"]]`))
	if err != nil {
		fmt.Println(wire.Encode(wire.Error(err.Error())))
		return
	}
	text, _ := req.StringArg(0, "text")
	fmt.Println(req.Kind, req.Item, text)

	_, err = wire.Decode([]byte(`["GET", 5, "x"]`))
	fmt.Println(string(wire.Encode(wire.Error(err.Error()))))
	// Output:
	// CMD send_message hello
	// {"error":"bad request: element 2: want the item name as a string, got \"5\""}
}
