package provision

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// MaxFileSize bounds the file Plan reads: far more than a province's staff list.
const MaxFileSize = 16 << 20

// column is one of the file's meaningful columns.
type column int

const (
	colName column = iota
	colUnit
	colAddress
	colQuota
	numColumns
)

// columnNames are the canonical column names, used in errors when the file has no header; vietnameseNames are
// their usual Vietnamese headers.
var (
	columnNames     = [numColumns]string{"full name", "unit", "address", "quota"}
	vietnameseNames = [numColumns]string{"họ và tên", "đơn vị", "địa chỉ", "dung lượng"}
)

// ignoredColumn marks header names of columns that Plan reads past.
const ignoredColumn column = -1

// headerNames maps folded header cells (see headerKey) to columns: English and Vietnamese, written with or
// without diacritics.
var headerNames = map[string]column{
	"full name": colName, "fullname": colName, "name": colName, "display name": colName,
	"ho va ten": colName, "ho ten": colName,
	"unit": colUnit, "org unit": colUnit, "don vi": colUnit, "don vi cong tac": colUnit,
	"address": colAddress, "email": colAddress, "email address": colAddress, "mail": colAddress,
	"dia chi": colAddress, "dia chi email": colAddress, "dia chi thu": colAddress, "dia chi thu dien tu": colAddress,
	"thu dien tu": colAddress,
	"quota":       colQuota, "dung luong": colQuota, "dung luong hop thu": colQuota, "han muc": colQuota,
	// Row numbers and notes, which staff lists often have.
	"stt": ignoredColumn, "tt": ignoredColumn, "so tt": ignoredColumn, "no": ignoredColumn,
	"ghi chu": ignoredColumn, "note": ignoredColumn, "notes": ignoredColumn,
}

// headerKey folds a header cell for lookup in headerNames: words folded like names (see fold), joined by one
// space, so "Họ và tên", "HỌ VÀ TÊN", "Ho va ten:" and "Họ  và tên" (NFD) all give "ho va ten".
func headerKey(cell string) string {
	var words []string
	for _, w := range strings.Fields(cell) {
		if f := fold(w); f != "" {
			words = append(words, f)
		}
	}
	return strings.Join(words, " ")
}

// record is one data row of the file, its cells by column.
type record struct {
	line  int                // 1-based line where the row starts
	cells [numColumns]string // trimmed
}

// layout says where each column is in the file's rows and what errors call it.
type layout struct {
	index  [numColumns]int    // field index, -1 if the file has no such column
	labels [numColumns]string // as the header writes it, or the canonical name
	width  int                // fields that may hold data
	header int                // line of the header, 0 if none
}

func positionalLayout() layout {
	l := layout{labels: columnNames, width: int(numColumns)}
	for c := range numColumns {
		l.index[c] = int(c)
	}
	return l
}

// readRecords reads the file's data rows. Problems with single rows or the header come back as LineErrors; the
// error is for a file that cannot be read at all.
func readRecords(r io.Reader) ([]record, layout, []*LineError, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, layout{}, nil, fmt.Errorf("read file: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, layout{}, nil, fmt.Errorf("the file is larger than %d MB: split it", MaxFileSize>>20)
	}
	if data, err = utf8Text(data); err != nil {
		return nil, layout{}, nil, err
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = separator(data)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	l := positionalLayout()
	var out []record
	var problems []*LineError
	first := true
	for {
		fields, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			// A quoting mistake leaves the reader out of step with the rows; stop rather than guess.
			problems = append(problems, &LineError{Line: pe.Line, Err: fmt.Errorf("%w (check the quotes)", pe.Err)})
			break
		}
		if err != nil {
			return nil, layout{}, nil, fmt.Errorf("read file: %w", err)
		}
		line, _ := cr.FieldPos(0)
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		if blank(fields) {
			continue
		}
		if first {
			first = false
			if isHeader(fields) {
				var errs []*LineError
				l, errs = headerLayout(fields, line)
				problems = append(problems, errs...)
				continue
			}
		}
		rec, problem := l.record(fields, line)
		if problem != nil {
			problems = append(problems, problem)
			continue
		}
		out = append(out, rec)
	}
	return out, l, problems, nil
}

// utf8Text strips a UTF-8 byte-order mark and rejects text in other encodings with advice on saving it right.
func utf8Text(data []byte) ([]byte, error) {
	const advice = `in Excel, use "Save as" with the type "CSV UTF-8 (Comma delimited)"`
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) {
		return nil, fmt.Errorf("the file is in UTF-16, not UTF-8: %s", advice)
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	if !utf8.Valid(data) {
		bad := 0
		for bad < len(data) {
			r, size := utf8.DecodeRune(data[bad:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			bad += size
		}
		line := 1 + bytes.Count(data[:bad], []byte("\n"))
		return nil, fmt.Errorf("line %d: the file is not in UTF-8 (perhaps in a Windows code page): %s", line, advice)
	}
	return data, nil
}

// separator returns the field separator the first non-blank line uses most, outside quotes: ',', ';' or a tab.
// A line with none of them (a single column) reads as comma-separated.
func separator(data []byte) rune {
	for {
		line, rest, found := bytes.Cut(data, []byte("\n"))
		if !found || len(bytes.TrimSpace(line)) > 0 {
			break
		}
		data = rest
	}
	counts := map[byte]int{}
	quoted := false
	for _, c := range data {
		if c == '"' {
			quoted = !quoted
		}
		if !quoted && c == '\n' {
			break
		}
		if !quoted && (c == ',' || c == ';' || c == '\t') {
			counts[c]++
		}
	}
	best := byte(',')
	for _, c := range []byte{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return rune(best)
}

func blank(fields []string) bool {
	for _, f := range fields {
		if f != "" {
			return false
		}
	}
	return true
}

// isHeader reports whether a row names columns: a data row never has a cell such as "unit" or "họ và tên".
func isHeader(fields []string) bool {
	for _, f := range fields {
		if _, ok := headerNames[headerKey(f)]; ok {
			return true
		}
	}
	return false
}

// headerLayout reads the header row on line line.
func headerLayout(fields []string, line int) (layout, []*LineError) {
	l := layout{width: len(fields), header: line}
	for c := range numColumns {
		l.index[c] = -1
		l.labels[c] = columnNames[c]
	}
	var problems []*LineError
	for i, f := range fields {
		if f == "" || headerKey(f) == "" {
			continue
		}
		c, ok := headerNames[headerKey(f)]
		switch {
		case !ok:
			problems = append(problems, &LineError{Line: line, Column: f, Err: fmt.Errorf(
				"unknown column %q: the columns are full name (họ và tên), unit (đơn vị), address (địa chỉ) and quota (dung lượng)", f)})
		case c == ignoredColumn:
		case l.index[c] >= 0:
			problems = append(problems, &LineError{Line: line, Column: f, Err: fmt.Errorf(
				"column %s appears twice (also as %q)", columnNames[c], l.labels[c])})
		default:
			l.index[c], l.labels[c] = i, f
		}
	}
	for _, c := range []column{colName, colUnit} {
		if l.index[c] < 0 {
			problems = append(problems, &LineError{Line: line, Err: fmt.Errorf("the header has no column %s (%s)",
				columnNames[c], vietnameseNames[c])})
		}
	}
	return l, problems
}

// record picks the columns out of a data row.
func (l layout) record(fields []string, line int) (record, *LineError) {
	for i := l.width; i < len(fields); i++ {
		if fields[i] != "" {
			if l.header > 0 {
				return record{}, &LineError{Line: line, Err: fmt.Errorf(
					"cell %d has a value but line %d names no column for it", i+1, l.header)}
			}
			return record{}, &LineError{Line: line, Err: fmt.Errorf(
				"more than %d cells: the columns are full name, unit, address, quota (or give a header row)", l.width)}
		}
	}
	rec := record{line: line}
	for c := range numColumns {
		if i := l.index[c]; i >= 0 && i < len(fields) {
			rec.cells[c] = fields[i]
		}
	}
	return rec, nil
}
