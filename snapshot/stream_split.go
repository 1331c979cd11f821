package snapshot

import (
	"bufio"
	"errors"
	"io"
)

// errDoubt says the splitter met something other than the plain shape of
// a findings.json (an array of objects); the whole-document reader then
// says exactly what.
var errDoubt = errors.New("not an array of objects")

// elements splits a top-level JSON array of objects read from r, one
// element at a time, without decoding it: encoding/json checks each
// element when it is decoded. It is the findings stream's reader; its buf
// is reused, so an element's bytes are valid until the next call.
type elements struct {
	r     *bufio.Reader
	off   int64 // bytes consumed
	buf   []byte
	state int // 0 before '[', 1 first element, 2 later elements, 3 done
}

func newElements(r io.Reader) *elements {
	return &elements{r: bufio.NewReaderSize(r, 64<<10)}
}

func (e *elements) byte() (byte, error) {
	c, err := e.r.ReadByte()
	if err == nil {
		e.off++
	}
	return c, err
}

// skip returns the first byte after whitespace.
func (e *elements) skip() (byte, error) {
	for {
		c, err := e.byte()
		if err != nil {
			return 0, err
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c, nil
	}
}

// next returns the next element and the offset of its first byte, or
// io.EOF after the closing ] and nothing but whitespace. null for the
// whole array is an empty array, as encoding/json has it.
func (e *elements) next() ([]byte, int64, error) {
	c, err := e.skip()
	if err != nil {
		return nil, 0, e.eof(err)
	}
	switch {
	case e.state == 0 && c == 'n':
		for _, want := range []byte("ull") {
			if c, err := e.byte(); err != nil || c != want {
				return nil, 0, errDoubt
			}
		}
		e.state = 3
		return e.next()
	case e.state == 0 && c == '[':
		e.state = 1
		return e.next()
	case (e.state == 1 || e.state == 2) && c == ']':
		e.state = 3
		return e.next()
	case e.state == 2 && c == ',':
		if c, err = e.skip(); err != nil {
			return nil, 0, e.eof(err)
		}
	case e.state == 3:
		return nil, 0, errDoubt // something after the array
	}
	if e.state == 0 || c != '{' {
		return nil, 0, errDoubt
	}
	e.state = 2
	return e.object()
}

// eof is io.EOF only once the array is closed.
func (e *elements) eof(err error) error {
	if err == io.EOF && e.state == 3 {
		return io.EOF
	}
	if err == io.EOF {
		return errDoubt
	}
	return err
}

// object reads the rest of an object whose '{' was just read.
func (e *elements) object() ([]byte, int64, error) {
	start := e.off - 1
	e.buf = append(e.buf[:0], '{')
	depth, inString, escaped := 1, false, false
	for depth > 0 {
		c, err := e.byte()
		if err != nil {
			return nil, 0, e.eof(err)
		}
		e.buf = append(e.buf, c)
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		}
	}
	return e.buf, start, nil
}
